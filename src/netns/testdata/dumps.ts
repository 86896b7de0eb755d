/**
 * Test data: raw `ip -j -d` dumps of a small netns and their snapshot, for the model's, the diff's (src/netns/)
 * and the restore planner's (src/exec/) unit tests.
 * @module
 */
import { buildSnapshot, type NetnsSnapshot, type RawDumps } from "../model.ts";

/** The loopback link as `ip -j -d link show` prints it. */
export const LO = {
  ifindex: 1,
  ifname: "lo",
  flags: ["LOOPBACK", "UP", "LOWER_UP"],
  mtu: 65536,
  qdisc: "noqueue",
  operstate: "UNKNOWN",
  txqlen: 1000,
  address: "00:00:00:00:00:00",
};
/** A bridge `eth0` with counters, timers and kernel flags the model drops. */
export const ETH = {
  ifindex: 2,
  ifname: "eth0",
  flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
  mtu: 1500,
  qdisc: "noqueue",
  operstate: "UP",
  linkmode: "DEFAULT",
  txqlen: 1000,
  address: "02:00:00:00:00:01",
  promiscuity: 0,
  stats64: { rx: { bytes: 5 } },
  linkinfo: { info_kind: "bridge", info_data: { hello_timer: 1.5, stp_state: 0 } },
};
/** The common fields of an IPv4 `addr_info` entry (lifetimes forever). */
export const V4 = {
  family: "inet",
  scope: "global",
  label: "eth0",
  valid_life_time: 4294967295,
  preferred_life_time: 4294967295,
};

/**
 * Raw dumps of a small netns (lo, eth0 with two IPv4 addresses and one tentative IPv6, routes, rules, one
 * permanent neighbour).
 *
 * @param over dumps to use instead
 */
export function dumps(over: Partial<RawDumps> = {}): RawDumps {
  return {
    links: [LO, ETH],
    addr4: [{
      ...ETH,
      addr_info: [
        { ...V4, local: "192.0.2.1", prefixlen: 24 },
        { ...V4, local: "192.0.2.2", prefixlen: 24, secondary: true },
      ],
    }],
    route4: [
      { type: "unicast", dst: "default", gateway: "192.0.2.254", dev: "eth0", protocol: "boot", flags: [] },
      {
        type: "unicast",
        dst: "192.0.2.0/24",
        dev: "eth0",
        protocol: "kernel",
        scope: "link",
        prefsrc: "192.0.2.1",
        flags: ["linkdown"],
      },
    ],
    rule4: [
      { priority: 0, src: "all", table: "local", protocol: "kernel" },
      { priority: 32766, src: "all", table: "main", protocol: "kernel" },
    ],
    neigh4: [{ dst: "192.0.2.77", dev: "eth0", lladdr: "02:00:00:00:00:77", state: ["PERMANENT"] }],
    addr6: [{
      ...ETH,
      addr_info: [
        {
          family: "inet6",
          local: "2001:db8::1",
          prefixlen: 64,
          scope: "global",
          tentative: true,
          valid_life_time: 3600,
          preferred_life_time: 1800,
        },
      ],
    }],
    route6: [
      {
        type: "local",
        dst: "2001:db8::1",
        dev: "eth0",
        table: "local",
        protocol: "kernel",
        metric: 0,
        flags: [],
        pref: "medium",
      },
    ],
    rule6: [],
    neigh6: [],
    ...over,
  };
}

/**
 * The snapshot of {@link dumps}.
 *
 * @param over dumps to use instead
 */
export function snap(over: Partial<RawDumps> = {}): NetnsSnapshot {
  return buildSnapshot("/var/run/netns/t", dumps(over));
}
