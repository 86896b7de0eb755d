// Command cnidriver is a small real CNI runtime for chainsaw's integration tests and benchmarks.
//
// It loads a .conflist, drives it through libcni (the same library containerd and CRI-O use) and
// prints the result (or the error) as JSON on stdout.
//
//	cnidriver -conflist net.conflist -cmd add -netns /var/run/netns/x -id c1 -ifname eth0 \
//	  -args 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1;K8S_POD_UID=abc' \
//	  -cap '{"io.kubernetes.cri.pod-annotations":{"k":"v"}}'
//
// Exit status 0 on success (add prints the result JSON, check and del print nothing, version prints
// {"<type>":{"cniVersion":...,"supportedVersions":[...]}} for each plugin of the list), 1 on a CNI error
// (stdout: {"code":N,"msg":"...","details":"...","error":"<libcni's full message>"}), 2 on a usage error.
//
// -repeat N runs the command N times and prints each call's wall time in microseconds on stderr, one per
// line. -cmd adddel runs ADD then DEL as one unit per iteration (the timing covers both).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

type errorOut struct {
	Code    uint   `json:"code"`
	Msg     string `json:"msg"`
	Details string `json:"details"`
	Error   string `json:"error,omitempty"`
}

func fail(err error) {
	out := errorOut{Code: 999, Msg: err.Error(), Error: err.Error()}
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		out.Code = cniErr.Code
		out.Msg = cniErr.Msg
		out.Details = cniErr.Details
	}
	b, _ := json.Marshal(out)
	fmt.Fprintln(os.Stdout, string(b))
	os.Exit(1)
}

func usage(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "cnidriver: "+format+"\n", a...)
	flag.Usage()
	os.Exit(2)
}

func parseArgs(s string) ([][2]string, error) {
	var out [][2]string
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ";") {
		if kv == "" {
			continue
		}
		parts := strings.SplitN(kv, "=", 2)
		if len(parts) != 2 {
			return nil, fmt.Errorf("invalid -args entry %q (want KEY=VALUE)", kv)
		}
		out = append(out, [2]string{parts[0], parts[1]})
	}
	return out, nil
}

func main() {
	conflist := flag.String("conflist", "", "network configuration list file (.conflist JSON)")
	cmd := flag.String("cmd", "", "add | check | del | version | adddel")
	netns := flag.String("netns", "", "network namespace path (CNI_NETNS)")
	id := flag.String("id", "cnidriver-test", "container ID (CNI_CONTAINERID)")
	ifname := flag.String("ifname", "eth0", "interface name (CNI_IFNAME)")
	cniArgs := flag.String("args", "", "CNI_ARGS, e.g. IgnoreUnknown=1;K8S_POD_NAMESPACE=default")
	capJSON := flag.String("cap", "", "capability args as a JSON object")
	path := flag.String("path", "/usr/lib/cni", "plugin search directories, colon separated")
	cacheDir := flag.String("cachedir", "/run/chainsaw-test-cache", "libcni cache directory")
	repeat := flag.Int("repeat", 1, "run the command N times, printing each call's wall time (µs) on stderr")
	timeout := flag.Duration("timeout", 0, "overall timeout (0: none)")
	flag.Parse()

	if *conflist == "" {
		usage("-conflist is required")
	}
	if *repeat < 1 {
		usage("-repeat must be >= 1")
	}
	switch *cmd {
	case "add", "check", "del", "version", "adddel":
	default:
		usage("-cmd must be add, check, del, version or adddel (got %q)", *cmd)
	}

	list, err := libcni.ConfListFromFile(*conflist)
	if err != nil {
		fail(err)
	}
	pluginArgs, err := parseArgs(*cniArgs)
	if err != nil {
		usage("%v", err)
	}
	var capArgs map[string]interface{}
	if *capJSON != "" {
		if err := json.Unmarshal([]byte(*capJSON), &capArgs); err != nil {
			usage("-cap is not a JSON object: %v", err)
		}
	}
	dirs := filepath.SplitList(*path)
	if err := os.MkdirAll(*cacheDir, 0o700); err != nil {
		fail(err)
	}

	cni := libcni.NewCNIConfigWithCacheDir(dirs, *cacheDir, nil)
	rt := &libcni.RuntimeConf{
		ContainerID:    *id,
		NetNS:          *netns,
		IfName:         *ifname,
		Args:           pluginArgs,
		CapabilityArgs: capArgs,
	}

	ctx := context.Background()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}

	var output []byte
	for i := 0; i < *repeat; i++ {
		start := time.Now()
		output, err = runOnce(ctx, cni, list, rt, *cmd)
		elapsed := time.Since(start)
		if *repeat > 1 {
			fmt.Fprintln(os.Stderr, elapsed.Microseconds())
		}
		if err != nil {
			fail(err)
		}
	}
	if len(output) > 0 {
		fmt.Fprintln(os.Stdout, string(output))
	}
}

func runOnce(ctx context.Context, cni *libcni.CNIConfig, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf,
	cmd string) ([]byte, error) {
	switch cmd {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return nil, err
		}
		if result == nil {
			return nil, nil
		}
		return json.Marshal(result)
	case "check":
		return nil, cni.CheckNetworkList(ctx, list, rt)
	case "del":
		return nil, cni.DelNetworkList(ctx, list, rt)
	case "adddel":
		if _, err := cni.AddNetworkList(ctx, list, rt); err != nil {
			return nil, err
		}
		return nil, cni.DelNetworkList(ctx, list, rt)
	case "version":
		type info struct {
			CNIVersion        string   `json:"cniVersion"`
			SupportedVersions []string `json:"supportedVersions"`
		}
		out := map[string]info{}
		for _, p := range list.Plugins {
			vi, err := cni.GetVersionInfo(ctx, p.Network.Type)
			if err != nil {
				return nil, fmt.Errorf("plugin type=%q (version): %w", p.Network.Type, err)
			}
			out[p.Network.Type] = info{CNIVersion: list.CNIVersion, SupportedVersions: vi.SupportedVersions()}
		}
		return json.Marshal(out)
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}
