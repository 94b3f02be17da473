/**
 * Teaching lints over the lessons themselves (not their format, which the loader refuses):
 * - hints are graded: a step with a command has three (what to look at, what to change,
 *   the command), and the first one never hands over the solution's command line;
 * - a prediction cannot be read ahead: the prose a learner reads before answering (the
 *   introduction and the step's own text) does not already use the answer's distinctive words.
 */
import type { Lesson, Step } from "./markdown-lesson.js";
import type { LintProblem } from "./translation-lint.js";

export const HINT_LEVELS = 3;

/** The command lines of a step's solutions, without heredoc bodies (file contents, not commands). */
export function solutionCommandLines(step: Pick<Step, "solutions">): string[] {
  const lines: string[] = [];
  for (const s of step.solutions) {
    let until: string | undefined;
    for (const raw of s.commands.split("\n")) {
      const line = raw.trim();
      if (until !== undefined) {
        if (line === until) until = undefined;
        continue;
      }
      const heredoc = /<<-?\s*['"]?(\w+)['"]?/.exec(line);
      if (heredoc) until = heredoc[1];
      // One word ("keepalived") names a program more often than it gives the solution away.
      if (line && !line.startsWith("#") && line.split(/\s+/).length >= 2) lines.push(line);
    }
  }
  return [...new Set(lines)];
}

const squash = (text: string) => text.replace(/\s+/g, " ");

/** Problems with the hints of one step: too few levels, or a first hint that is the solution. */
export function hintProblems(step: Pick<Step, "id" | "solutions">, hints: string[]): string[] {
  const problems: string[] = [];
  const commands = solutionCommandLines(step);
  if (!commands.length) return problems;
  if (hints.length < HINT_LEVELS) {
    problems.push(`step "${step.id}" has ${hints.length} hints; a step with a command gets ${HINT_LEVELS}: what to look at, what to change, the command`);
  }
  const first = hints[0];
  const given = first === undefined ? undefined : commands.find((c) => squash(first).includes(squash(c)));
  if (given) problems.push(`the first hint of step "${step.id}" gives the solution's command "${given}"; a first hint says what to look at`);
  return problems;
}

const STOPWORDS = new Set(
  `a an the and or of to in on at by for from with as is are was were be been being it its this that these those there here not no nor but if then than so
  such what which who whom how when where why do does did done has have had can could would should will shall may might must one two three all any each
  every some more most less only also just very into out up down over under again once same other another their them they his her our your you we i he
  she own both few many much first next last yet still while before after about because through between during without within whose until onto per via off`.split(/\s+/),
);

/**
 * Chinese function words: like the English stopwords, they pair with anything. The word
 * segmenter (ICU's dictionary, through Intl.Segmenter) splits a measure word and its number
 * ("一|台") and most particles off on their own.
 */
const ZH_STOPWORDS = new Set(
  `的 了 是 在 和 与 或 不 也 都 就 把 被 对 从 到 给 让 用 由 为 以 而 并 及 其 这 那 这个 那个 这些 那些 一个 一 个 它 它们 我们 你 你们 他 会 能 可以 要 将
  已 已经 还 又 再 只 有 没有 没 中 上 下 里 后 前 时 时候 吗 呢 吧 啊 如果 那么 所以 因为 但 但是 就是 等 之 所 每 各 该 此 些 哪 什么 怎么 为什么 多少 几
  同 台 条 次 即 却 则 得 地 着 过 两 二 三 第 先 然后 再次 么 呀 哪个 哪里 这里 那里 之后 之前 以后 以前 时间 更 最 很 太 非常 比较 大 小 多 少`.split(/\s+/),
);

const zhWords = new Intl.Segmenter("zh", { granularity: "word" });

/** Variables and file paths are not words a learner reads as an answer. */
const withoutNames = (text: string) =>
  text
    .toLowerCase()
    .replace(/\{\{[^}]*\}\}/g, " ")
    .replace(/\S*\/\S*\/\S*/g, " ");

/**
 * The words of a text, lower-cased, with an English plural "s" cut; a lone stopword is kept
 * (it breaks pairs). `terms`: words the segmenter would split ("报|文段"), kept whole.
 */
function tokens(text: string, lang: string, terms: readonly string[] = []): string[] {
  if (lang.startsWith("zh")) {
    const pieces = terms.length ? withoutNames(text).split(new RegExp(`(${[...terms].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|")})`)) : [withoutNames(text)];
    return pieces.flatMap((piece, i) => (i % 2 ? [piece] : [...zhWords.segment(piece)].filter((s) => s.isWordLike).map((s) => s.segment)));
  }
  return withoutNames(text)
    .split(/[^a-z0-9_]+/)
    .filter(Boolean)
    .map((w) => (w.length > 3 && w.endsWith("s") && !w.endsWith("ss") ? w.slice(0, -1) : w));
}

const isStopword = (w: string) => STOPWORDS.has(w) || ZH_STOPWORDS.has(w);

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const words = (text: string, lang: string, terms: readonly string[]) => tokens(text, lang, terms).filter((w) => !isStopword(w));

/** Two content words side by side ("fragmentation needed", "源地址|校验"); a stopword between them breaks the pair. */
function pairs(text: string, lang: string, terms: readonly string[]): Set<string> {
  const t = tokens(text, lang, terms);
  const found = new Set<string>();
  for (let i = 1; i < t.length; i++) if (!isStopword(t[i - 1]!) && !isStopword(t[i]!)) found.add(`${t[i - 1]} ${t[i]}`);
  return found;
}

/** Everything a learner reads of one step, the prediction's question, choices and reveal included. */
function stepText(step: Step): string {
  return [step.prose, ...step.hints, ...(step.predict ? [step.predict.question, ...step.predict.choices, step.predict.reveal] : [])].join("\n");
}

/**
 * Word pairs that give a prediction away: used by its right choice or its reveal, not by its
 * question or a wrong choice, found in the prose read before answering, and distinctive —
 * at most two texts of all lessons use the pair, and one of its words is used by no other
 * text (a pair of common words such as "real server" says nothing about the answer).
 * `lang` says how to find the words: "en" splits on spaces, "zh-CN" asks the word segmenter,
 * which keeps `terms` (the language's glossary) whole.
 */
export function predictionLeaks(lessons: Lesson[], lang = "en", terms: readonly string[] = []): LintProblem[] {
  const documents = lessons.flatMap((l) => [l.intro, ...l.steps.map(stepText)]);
  const wordSets = documents.map((d) => new Set(words(d, lang, terms)));
  const pairSets = documents.map((d) => pairs(d, lang, terms));
  const wordFrequency = (w: string) => wordSets.filter((d) => d.has(w)).length;
  const pairFrequency = (p: string) => pairSets.filter((d) => d.has(p)).length;
  const problems: LintProblem[] = [];
  for (const lesson of lessons) {
    for (const step of lesson.steps) {
      const p = step.predict;
      if (!p) continue;
      const asked = new Set([...pairs(p.question, lang, terms), ...p.choices.filter((_, i) => i + 1 !== p.answer).flatMap((c) => [...pairs(c, lang, terms)])]);
      const before = pairs(`${lesson.intro}\n${step.prose}`, lang, terms);
      const leaked = [...pairs(`${p.choices[p.answer - 1]}\n${p.reveal}`, lang, terms)].filter(
        (pair) => !asked.has(pair) && before.has(pair) && pairFrequency(pair) <= 2 && pair.split(" ").some((w) => wordFrequency(w) <= 1),
      );
      if (leaked.length) {
        problems.push({
          file: lesson.file,
          line: step.line,
          message: `the prose before the prediction of step "${step.id}" gives its answer away (${leaked.map((w) => `"${w}"`).join(", ")}, words of the reveal): move that into the reveal`,
        });
      }
    }
  }
  return problems;
}

/** The hint and prediction lints of the original lessons. */
export function lintLessons(lessons: Lesson[]): LintProblem[] {
  const hints = lessons.flatMap((l) => l.steps.flatMap((s) => hintProblems(s, s.hints).map((message) => ({ file: l.file, line: s.line, message }))));
  return [...hints, ...predictionLeaks(lessons)];
}
