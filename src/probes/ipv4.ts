/** IPv4 address arithmetic for probes that judge what the kernel does with one address. */

function toNumber(address: string): number | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    n = n * 256 + Number(part);
  }
  return n;
}

/** "10.0.1.0/24" → { base, bits }; "default" is 0.0.0.0/0; a bare address is /32. */
export function parseBlock(block: string): { base: number; bits: number } | undefined {
  if (block === "default") return { base: 0, bits: 0 };
  const [address, bitsText] = block.split("/");
  const base = toNumber(address!);
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  return { base, bits };
}

export function isHostAddress(text: string): boolean {
  return parseBlock(text)?.bits === 32 && text !== "default";
}

/** Whether a block ("10.0.0.0/8", "default", "10.0.1.5") contains an address. */
export function blockContains(block: string, address: string): boolean {
  const b = parseBlock(block);
  const a = toNumber(address.replace(/\/32$/, ""));
  if (!b || a === undefined) return false;
  const mask = b.bits === 0 ? 0 : (0xffffffff << (32 - b.bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b.base & mask) >>> 0);
}

export function prefixLength(block: string): number {
  return parseBlock(block)?.bits ?? 32;
}

/** "10.0.1.5-10.0.1.9" style ranges, as nftables and iptables' iprange print them. */
export function rangeContains(first: string, last: string, address: string): boolean {
  const [a, f, l] = [address, first, last].map(toNumber);
  return a !== undefined && f !== undefined && l !== undefined && a >= f && a <= l;
}
