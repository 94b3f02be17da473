// Writes schema/check-report.schema.json from the zod definition in src/cli/check-report.ts
// (built to dist/ first: `npm run schema`). test/check-report.test.ts keeps the two equal.
import { writeFileSync } from "node:fs";
import { checkReportJsonSchema } from "../dist/cli/check-report.js";

const file = new URL("../schema/check-report.schema.json", import.meta.url);
writeFileSync(file, JSON.stringify(checkReportJsonSchema(), null, 2) + "\n");
