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
// line. -cmd adddel runs ADD then DEL as one unit per iteration (the timing covers both); -cmd addcheckdel runs
// ADD, CHECK and DEL.
//
// -stats FILE appends one JSON line per CNI call of the chain ({"kind":"call"}: the list operation, e.g. one ADD
// of the whole chain) and one per plugin process ({"kind":"exec"}), with wall time, the process's CPU time
// (user + system, its waited-for children such as `ip` included) and its peak RSS, taken from wait4's rusage
// of each plugin process. A call's cpu is the sum over its plugin processes and its maxRssKb their maximum. The
// benchmark (bench/bench.ts) reads these.
//
// -parallel N runs N pods at once (a burst, as a node sees when a Deployment scales up): pod i (0..N-1) has
// container ID "<id>-<i>", and every "%d" in -netns and -args becomes i, so each pod can have its own netns and
// identity. Each CNI verb of the command is one phase: all N pods start it together (a barrier), and the next
// phase (e.g. DEL after ADD) starts when all have finished. With -stats, the lines of pod i carry "pod": i+1,
// and each phase adds one {"kind":"burst"} line: the phase's wall time (first start to last end), the number of
// pods, and whether all succeeded. Nothing is printed on stdout on success; the first error fails the run after
// its phase. Without -parallel (or with 1) nothing changes.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
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
	cmd := flag.String("cmd", "", "add | check | del | version | adddel | addcheckdel")
	netns := flag.String("netns", "", "network namespace path (CNI_NETNS)")
	id := flag.String("id", "cnidriver-test", "container ID (CNI_CONTAINERID)")
	ifname := flag.String("ifname", "eth0", "interface name (CNI_IFNAME)")
	cniArgs := flag.String("args", "", "CNI_ARGS, e.g. IgnoreUnknown=1;K8S_POD_NAMESPACE=default")
	capJSON := flag.String("cap", "", "capability args as a JSON object")
	path := flag.String("path", "/usr/lib/cni", "plugin search directories, colon separated")
	cacheDir := flag.String("cachedir", "/run/chainsaw-test-cache", "libcni cache directory")
	repeat := flag.Int("repeat", 1, "run the command N times, printing each call's wall time (µs) on stderr")
	timeout := flag.Duration("timeout", 0, "overall timeout (0: none)")
	statsPath := flag.String("stats", "", "append per-call and per-plugin-process statistics (JSON lines) to this file")
	parallel := flag.Int("parallel", 1, "run N pods at once, each verb as one burst (see the package comment)")
	flag.Parse()

	if *conflist == "" {
		usage("-conflist is required")
	}
	if *repeat < 1 {
		usage("-repeat must be >= 1")
	}
	if *parallel < 1 {
		usage("-parallel must be >= 1")
	}
	switch *cmd {
	case "add", "check", "del", "version", "adddel", "addcheckdel":
	default:
		usage("-cmd must be add, check, del, version, adddel or addcheckdel (got %q)", *cmd)
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

	var stats *statsWriter
	var executor invoke.Exec
	var statsFile *os.File
	if *statsPath != "" {
		f, err := os.OpenFile(*statsPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			usage("-stats: %v", err)
		}
		defer f.Close()
		statsFile = f
		stats = &statsWriter{enc: json.NewEncoder(f), mu: &sync.Mutex{}}
		executor = &measuringExec{stats: stats}
	}
	if *parallel > 1 {
		ctx := context.Background()
		if *timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, *timeout)
			defer cancel()
		}
		runBurst(ctx, burstSpec{
			n: *parallel, list: list, dirs: dirs, cacheDir: *cacheDir, id: *id, netns: *netns, ifname: *ifname,
			args: *cniArgs, capArgs: capArgs, cmd: *cmd, repeat: *repeat, statsFile: statsFile,
		})
		return
	}
	cni := libcni.NewCNIConfigWithCacheDir(dirs, *cacheDir, executor)
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
		if stats != nil {
			stats.iter = i
		}
		output, err = runOnce(ctx, cni, list, rt, *cmd, stats)
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
	cmd string, stats *statsWriter) ([]byte, error) {
	add := func() ([]byte, error) {
		var result types.Result
		err := stats.measure("ADD", func() error {
			var err error
			result, err = cni.AddNetworkList(ctx, list, rt)
			return err
		})
		if err != nil || result == nil {
			return nil, err
		}
		return json.Marshal(result)
	}
	check := func() error {
		return stats.measure("CHECK", func() error { return cni.CheckNetworkList(ctx, list, rt) })
	}
	del := func() error {
		return stats.measure("DEL", func() error { return cni.DelNetworkList(ctx, list, rt) })
	}
	switch cmd {
	case "add":
		return add()
	case "check":
		return nil, check()
	case "del":
		return nil, del()
	case "adddel":
		if _, err := add(); err != nil {
			return nil, err
		}
		return nil, del()
	case "addcheckdel":
		if _, err := add(); err != nil {
			return nil, err
		}
		if err := check(); err != nil {
			return nil, err
		}
		return nil, del()
	case "version":
		var out []byte
		err := stats.measure("VERSION", func() error {
			var err error
			out, err = versionOf(ctx, cni, list)
			return err
		})
		return out, err
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}

func versionOf(ctx context.Context, cni *libcni.CNIConfig, list *libcni.NetworkConfigList) ([]byte, error) {
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

// statsWriter writes the -stats lines. A nil *statsWriter measures nothing.
type statsWriter struct {
	enc *json.Encoder
	// Serialises writes to enc (shared by the pods of a burst).
	mu   *sync.Mutex
	iter int
	// Pod index + 1 in a burst (0: not a burst).
	pod int
	// The plugin processes of the call being measured.
	execs []execStat
}

type execStat struct {
	Kind     string `json:"kind"`
	Iter     int    `json:"iter"`
	Verb     string `json:"verb"`
	Plugin   string `json:"plugin,omitempty"`
	OK       bool   `json:"ok"`
	WallUs   int64  `json:"wallUs"`
	UserUs   int64  `json:"userUs"`
	SysUs    int64  `json:"sysUs"`
	MaxRssKb int64  `json:"maxRssKb"`
	Execs    int    `json:"execs,omitempty"`
	Pod      int    `json:"pod,omitempty"`
}

// measure runs one list operation and writes its "call" line after the "exec" lines of its plugin processes.
func (s *statsWriter) measure(verb string, op func() error) error {
	if s == nil {
		return op()
	}
	s.execs = s.execs[:0]
	start := time.Now()
	err := op()
	call := execStat{Kind: "call", Iter: s.iter, Verb: verb, OK: err == nil, WallUs: time.Since(start).Microseconds(),
		Pod: s.pod}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.execs {
		_ = s.enc.Encode(e)
		call.UserUs += e.UserUs
		call.SysUs += e.SysUs
		if e.MaxRssKb > call.MaxRssKb {
			call.MaxRssKb = e.MaxRssKb
		}
	}
	call.Execs = len(s.execs)
	_ = s.enc.Encode(call)
	return err
}

// measuringExec is libcni's default plugin executor (invoke.RawExec: same retry on "text file busy", same error
// decoding, stderr passed on) plus each plugin process's rusage from wait4.
type measuringExec struct {
	version.PluginDecoder
	stats *statsWriter
}

func (e *measuringExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}

func (e *measuringExec) ExecPlugin(ctx context.Context, pluginPath string, stdinData []byte,
	environ []string) ([]byte, error) {
	verb := ""
	for _, kv := range environ {
		if strings.HasPrefix(kv, "CNI_COMMAND=") {
			verb = strings.TrimPrefix(kv, "CNI_COMMAND=")
		}
	}
	var stdout, stderr bytes.Buffer
	var err error
	for i := 0; i <= 5; i++ {
		stdout.Reset()
		stderr.Reset()
		c := exec.CommandContext(ctx, pluginPath)
		c.Env = environ
		c.Stdin = bytes.NewReader(stdinData)
		c.Stdout = &stdout
		c.Stderr = &stderr
		start := time.Now()
		err = c.Run()
		wall := time.Since(start)
		if err != nil && strings.Contains(err.Error(), "text file busy") {
			time.Sleep(time.Second)
			continue
		}
		st := execStat{Kind: "exec", Iter: e.stats.iter, Verb: verb, Plugin: filepath.Base(pluginPath), OK: err == nil,
			WallUs: wall.Microseconds(), Pod: e.stats.pod}
		if c.ProcessState != nil {
			if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
				st.UserUs = ru.Utime.Sec*1e6 + ru.Utime.Usec
				st.SysUs = ru.Stime.Sec*1e6 + ru.Stime.Usec
				st.MaxRssKb = ru.Maxrss
			}
		}
		e.stats.execs = append(e.stats.execs, st)
		break
	}
	if err != nil {
		return nil, pluginErr(err, stdout.Bytes(), stderr.Bytes())
	}
	if stderr.Len() > 0 {
		_, _ = stderr.WriteTo(os.Stderr)
	}
	return stdout.Bytes(), nil
}

// pluginErr is invoke.RawExec's error decoding.
func pluginErr(err error, stdout, stderr []byte) error {
	emsg := types.Error{}
	if len(stdout) == 0 {
		if len(stderr) == 0 {
			emsg.Msg = fmt.Sprintf("netplugin failed with no error message: %v", err)
		} else {
			emsg.Msg = fmt.Sprintf("netplugin failed: %q", string(stderr))
		}
	} else if perr := json.Unmarshal(stdout, &emsg); perr != nil {
		emsg.Msg = fmt.Sprintf("netplugin failed but error parsing its diagnostic message %q: %v", string(stdout), perr)
	}
	return &emsg
}

// burstSpec is what -parallel runs.
type burstSpec struct {
	n                         int
	list                      *libcni.NetworkConfigList
	dirs                      []string
	cacheDir, id, netns, args string
	ifname, cmd               string
	capArgs                   map[string]interface{}
	repeat                    int
	statsFile                 *os.File
}

// burstPhases are the verbs of a -cmd, in order; each is one burst.
func burstPhases(cmd string) []string {
	switch cmd {
	case "adddel":
		return []string{"add", "del"}
	case "addcheckdel":
		return []string{"add", "check", "del"}
	}
	return []string{cmd}
}

// runBurst runs every phase of the command for n pods at once, -repeat times, and exits on the first error.
func runBurst(ctx context.Context, b burstSpec) {
	var enc *json.Encoder
	mu := &sync.Mutex{}
	if b.statsFile != nil {
		enc = json.NewEncoder(b.statsFile)
	}
	type pod struct {
		cni   *libcni.CNIConfig
		rt    *libcni.RuntimeConf
		stats *statsWriter
	}
	pods := make([]pod, b.n)
	for i := range pods {
		idx := strconv.Itoa(i)
		pluginArgs, err := parseArgs(strings.ReplaceAll(b.args, "%d", idx))
		if err != nil {
			usage("%v", err)
		}
		var executor invoke.Exec
		var stats *statsWriter
		if enc != nil {
			stats = &statsWriter{enc: enc, mu: mu, pod: i + 1}
			executor = &measuringExec{stats: stats}
		}
		pods[i] = pod{
			cni: libcni.NewCNIConfigWithCacheDir(b.dirs, b.cacheDir, executor),
			rt: &libcni.RuntimeConf{
				ContainerID:    b.id + "-" + idx,
				NetNS:          strings.ReplaceAll(b.netns, "%d", idx),
				IfName:         b.ifname,
				Args:           pluginArgs,
				CapabilityArgs: b.capArgs,
			},
			stats: stats,
		}
	}
	for iter := 0; iter < b.repeat; iter++ {
		for _, phase := range burstPhases(b.cmd) {
			errs := make([]error, b.n)
			var ready, done sync.WaitGroup
			start := make(chan struct{})
			ready.Add(b.n)
			done.Add(b.n)
			for i := range pods {
				go func(i int) {
					defer done.Done()
					p := pods[i]
					if p.stats != nil {
						p.stats.iter = iter
					}
					ready.Done()
					<-start
					_, errs[i] = runOnce(ctx, p.cni, b.list, p.rt, phase, p.stats)
				}(i)
			}
			ready.Wait()
			t0 := time.Now()
			close(start)
			done.Wait()
			wall := time.Since(t0)
			var firstErr error
			for _, err := range errs {
				if err != nil && firstErr == nil {
					firstErr = err
				}
			}
			if enc != nil {
				mu.Lock()
				_ = enc.Encode(execStat{Kind: "burst", Iter: iter, Verb: strings.ToUpper(phase), OK: firstErr == nil,
					WallUs: wall.Microseconds(), Execs: b.n})
				mu.Unlock()
			}
			if firstErr != nil {
				fail(firstErr)
			}
		}
	}
}
