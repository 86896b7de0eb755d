/**
 * The zod schema of the runtime's pod annotations (`runtimeConfig["io.kubernetes.cri.pod-annotations"]`): the
 * source of truth {@link ./pod_source.ts} defers to when its plain check does not accept a value (loaded only
 * then: zod is not on the plugin's start-up path). `pod_source_test.ts` holds the two to the same answers.
 * @module
 */
import * as z from "zod/mini";

/** A map of annotation names to values, as the runtime passes it. */
export const RuntimeAnnotationsSchema = z.record(z.string(), z.string());
