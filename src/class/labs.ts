/** The labs a class server knows: ids, titles and steps, in the catalogue's order. */
import { listLabIds, loadLab } from "../lesson/load.js";
import type { LabInfo } from "./aggregate.js";

/** Titles in `lang` where the lab has a sound translation, else in English. */
export async function labInfos(lang = "en"): Promise<LabInfo[]> {
  const loaded = await Promise.all((await listLabIds()).map((id) => loadLab(id, { lang }).catch(() => loadLab(id, { lang: "en" })).catch(() => undefined)));
  return loaded
    .flatMap((l) => (l ? [l] : []))
    .sort((a, b) => a.lesson.meta.order - b.lesson.meta.order || a.lesson.meta.id.localeCompare(b.lesson.meta.id))
    .map((l) => ({ id: l.lesson.meta.id, title: l.lesson.meta.title, steps: l.lesson.steps.map((s) => ({ id: s.id, title: s.title })) }));
}
