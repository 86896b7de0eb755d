/** chainsaw's version, printed by `chainsaw version` and in metrics build info. */
export const VERSION = "0.1.0";
