/** The product version: `--version`, and a label on every resource lvs-lab creates. */
export const VERSION = "0.1.0";
