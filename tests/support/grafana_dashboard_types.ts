/**
 * The type a Grafana dashboard JSON must have, from Grafana's own schema (`@grafana/schema`, generated from its
 * CUE definitions): tests/monitoring_rules_test.ts types deployments/monitoring/dashboard.json as an object literal
 * of {@link ChainsawDashboard} and runs `deno check`, so an unknown field, a wrong type or an unknown enum value
 * (a legend placement, a draw style, a stat's colour mode) anywhere in it is an error.
 *
 * What the schema leaves open is narrowed to what the dashboard uses: each panel is a row, a `timeseries` or a
 * `stat` with that panel plugin's own options and field config types, and every query is a Prometheus one.
 * String enums are written as their values (JSON has no enums). One field Grafana writes but the schema lacks is
 * allowed: a query variable's `definition`.
 * @module
 */
import type { Dashboard, DataQuery, Panel, RowPanel, VariableModel } from "@grafana/schema";
import type * as TimeSeries from "@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";
import type * as Stat from "@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen";

/** The JSON form of a type: a string enum becomes its values, at every depth. */
export type Json<T> = T extends string ? `${T}`
  : T extends number | boolean | null | undefined ? T
  : T extends readonly (infer U)[] ? Json<U>[]
  : T extends object ? { [K in keyof T]: Json<T[K]> }
  : T;

/** A query of Grafana's Prometheus data source (not in `@grafana/schema`): its stored fields. */
export type PromQuery = DataQuery & {
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
};

/** A panel of plugin `T` with its options `O` and custom field config `F`, querying Prometheus. */
type PluginPanel<T extends string, O, F> = Omit<Panel<O, F>, "type" | "targets" | "options"> & {
  type: T;
  targets: PromQuery[];
  options: O;
};

/** The panels the dashboard may hold. */
export type ChainsawPanel =
  | RowPanel
  | PluginPanel<"timeseries", TimeSeries.Options, TimeSeries.FieldConfig>
  | PluginPanel<"stat", Stat.Options, Record<string, never>>;

/** A template variable, with the query text Grafana keeps beside the query. */
type Variable = Json<VariableModel> & { definition?: string };

/** deployments/monitoring/dashboard.json's type. */
export type ChainsawDashboard = Json<Omit<Dashboard, "panels" | "templating">> & {
  panels: Json<ChainsawPanel>[];
  templating: { list: Variable[] };
};
