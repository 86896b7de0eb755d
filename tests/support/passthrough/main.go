// Command passthrough is a minimal chained CNI plugin on libcni's pkg/skel: ADD prints its prevResult
// converted to the configuration's cniVersion, CHECK and DEL do nothing. It is the Go anchor chainsaw's
// benchmarks compare against.
package main

import (
	"encoding/json"
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

func parseConf(stdin []byte) (*types.NetConf, error) {
	conf := &types.NetConf{}
	if err := json.Unmarshal(stdin, conf); err != nil {
		return nil, fmt.Errorf("failed to parse network configuration: %v", err)
	}
	if err := version.ParsePrevResult(conf); err != nil {
		return nil, err
	}
	return conf, nil
}

func cmdAdd(args *skel.CmdArgs) error {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	if conf.PrevResult == nil {
		return types.NewError(types.ErrInvalidNetworkConfig, "must be called as a chained plugin",
			"no prevResult in the configuration")
	}
	result, err := conf.PrevResult.GetAsVersion(conf.CNIVersion)
	if err != nil {
		return err
	}
	return types.PrintResult(result, conf.CNIVersion)
}

func cmdCheck(args *skel.CmdArgs) error {
	_, err := parseConf(args.StdinData)
	return err
}

func cmdDel(args *skel.CmdArgs) error {
	return nil
}

func main() {
	skel.PluginMain(cmdAdd, cmdCheck, cmdDel, version.All, "chainsaw test pass-through plugin")
}
