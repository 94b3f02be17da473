/** IPv4 and CIDR arithmetic on 32-bit integers, the little the allocator needs. */
import { isIPv4 } from "node:net";

export interface Cidr {
  network: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  if (!isIPv4(ip)) throw new Error(`not an IPv4 address: ${ip}`);
  return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

export function parseCidr(text: string): Cidr {
  const [ip, prefixText] = text.split("/");
  const prefix = Number(prefixText);
  if (!ip || !isIPv4(ip) || !/^\d+$/.test(prefixText ?? "") || prefix < 0 || prefix > 32) {
    throw new Error(`not an IPv4 CIDR block: ${text}`);
  }
  const size = blockSize(prefix);
  return { network: Math.floor(ipToInt(ip) / size) * size, prefix };
}

export function isCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.network)}/${c.prefix}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const aEnd = a.network + blockSize(a.prefix);
  const bEnd = b.network + blockSize(b.prefix);
  return a.network < bEnd && b.network < aEnd;
}

export function contains(block: Cidr, ip: string): boolean {
  const n = ipToInt(ip);
  return n >= block.network && n < block.network + blockSize(block.prefix);
}

/** The address `host` positions into the block, e.g. (10.0.1.0/24, 50) → 10.0.1.50. */
export function hostAddress(block: Cidr, host: number): string {
  return intToIp(block.network + host);
}

export function hostCapacity(prefix: number): number {
  return blockSize(prefix) - 2;
}

/** The block of the same size `steps` blocks further on. */
export function shiftBlock(block: Cidr, steps: number): Cidr {
  return { network: block.network + steps * blockSize(block.prefix), prefix: block.prefix };
}
