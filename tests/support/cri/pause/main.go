// Command pause is the sandbox ("pause") process of the containerd test's image: it holds the pod's
// namespaces and sleeps until SIGTERM or SIGINT. Built static (CGO_ENABLED=0) by scripts/test_setup.ts, so the
// image needs no libc.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
