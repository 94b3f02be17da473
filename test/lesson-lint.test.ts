/** The teaching lints: graded hints and predictions that the prose does not give away. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { hintProblems, lintLessons, predictionLeaks, solutionCommandLines } from "../src/lesson/lesson-lint.js";
import { loadAllLabs } from "../src/lesson/load.js";
import { parseLesson, type Step } from "../src/lesson/markdown-lesson.js";
import { formatProblem, lintAll } from "../src/lesson/translation-lint.js";

// The lessons as they were when issue 22 was filed: the lints must fail on them.
const BEFORE = "test/fixtures/lessons-before-issue-22";
const before = ["dnat", "nat", "schedulers", "dr", "tun", "failover"].map((id) => parseLesson(readFileSync(`${BEFORE}/${id}.md`, "utf8"), `${BEFORE}/${id}.md`));

const step = (commands: string): Pick<Step, "id" | "solutions"> => ({ id: "demo", solutions: [{ node: "director", commands, line: 1 }] });

describe("graded hints", () => {
  it("takes the command lines of a solution, not a heredoc's body nor a lone program name", () => {
    expect(solutionCommandLines(step("mkdir -p /etc/keepalived\ncat > /etc/k.conf <<'CONF'\nvrrp_instance VI_1 {\n    state MASTER\n}\nCONF\nkeepalived"))).toEqual([
      "mkdir -p /etc/keepalived",
      "cat > /etc/k.conf <<'CONF'",
    ]);
  });

  it("refuses fewer than three hints and a first hint that is the command", () => {
    const s = step("ipvsadm -A -t {{vip}}:80 -s rr");
    expect(hintProblems(s, ["`ipvsadm  -A -t {{vip}}:80 -s rr`, then look."])).toEqual([
      'step "demo" has 1 hints; a step with a command gets 3: what to look at, what to change, the command',
      'the first hint of step "demo" gives the solution\'s command "ipvsadm -A -t {{vip}}:80 -s rr"; a first hint says what to look at',
    ]);
    expect(hintProblems(s, ["`ipvsadm -Ln` lists the services.", "`-A` adds one, `-s` names its scheduler.", "`ipvsadm -A -t {{vip}}:80 -s rr`"])).toEqual([]);
  });

  it("fails on the hints of the lessons before issue 22", () => {
    const problems = lintLessons(before).map(formatProblem);
    expect(problems).toContain(
      `${BEFORE}/nat.md:29: the first hint of step "forward" gives the solution's command "echo 1 > /proc/sys/net/ipv4/ip_forward"; a first hint says what to look at`,
    );
    expect(problems).toContain(`${BEFORE}/failover.md:39: step "master" has 1 hints; a step with a command gets 3: what to look at, what to change, the command`);
    expect(problems.filter((p) => p.includes("the first hint of step"))).toHaveLength(25);
  });
});

describe("predictions nobody can read ahead", () => {
  it("fails on the prose of the lessons before issue 22", () => {
    expect(predictionLeaks(before).map(formatProblem)).toEqual([
      `${BEFORE}/dr.md:444: the prose before the prediction of step "no-port-change" gives its answer away ("port 8080", words of the reveal): move that into the reveal`,
      `${BEFORE}/tun.md:157: the prose before the prediction of step "tunl0" gives its answer away ("nstat az", "az tcpextipreversepathfilter", words of the reveal): move that into the reveal`,
      `${BEFORE}/tun.md:363: the prose before the prediction of step "mtu" gives its answer away ("icmp fragmentation", "fragmentation needed", "byte fit", words of the reveal): move that into the reveal`,
    ]);
  });

  it("finds nothing in the lessons as they are", async () => {
    const labs = await loadAllLabs();
    expect(lintLessons(labs.map((l) => l.lesson)).map(formatProblem)).toEqual([]);
  });
});

describe("predictions nobody can read ahead, in Chinese", () => {
  it("finds the reveal's words in the prose before the question, with the glossary's words kept whole", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lvs-lab-lint-"));
    cpSync("labs", dir, { recursive: true });
    const file = join(dir, "zh-CN", "tun.md");
    const text = readFileSync(file, "utf8");
    // The reveal's own sentence, said before the question is asked.
    writeFileSync(file, text.replace("```predict\nquestion: 客户端发出一个 3000 字节的请求之后", "客户端的内核为 VIP 记住更小的路径 MTU，保留十分钟。\n\n```predict\nquestion: 客户端发出一个 3000 字节的请求之后"));
    const report = await lintAll(dir);
    rmSync(dir, { recursive: true, force: true });
    expect(report.problems.map(formatProblem)).toEqual([
      `${relative(process.cwd(), file)}:175: the prose before the prediction of step "mtu" gives its answer away ("保留 十分钟", words of the reveal): move that into the reveal`,
    ]);
  });
});
