// Command reverseproxy is the Go baseline of the performance suite: net/http/httputil.ReverseProxy configured as
// the Go capsule-proxy configures it, without Capsule's filtering, so the suite can measure the engine it runs on.
//
//	reverseproxy --listen 127.0.0.1:9443 --cert tls.crt --key tls.key \
//	    --upstream https://127.0.0.1:6443 --ca ca.crt
//
// --max-idle-per-host N (default 0, the Go capsule-proxy's setting) keeps more idle upstream connections, to
// measure the engine tuned as well as as shipped.
//
// It prints one "ready on ADDR" line to stderr once listening. GOMAXPROCS comes from the environment.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9443", "address to serve TLS on (port 0 picks a free one)")
	cert := flag.String("cert", "", "serving certificate chain, PEM")
	key := flag.String("key", "", "serving private key, PEM")
	upstream := flag.String("upstream", "", "upstream API server URL, e.g. https://127.0.0.1:6443")
	ca := flag.String("ca", "", "CA bundle that signed the upstream's certificate, PEM")
	idle := flag.Int("max-idle-per-host", 0,
		"idle upstream connections kept (0: Go's default of 2, as the Go capsule-proxy runs)")
	flag.Parse()

	if err := run(*listen, *cert, *key, *upstream, *ca, *idle); err != nil {
		fmt.Fprintf(os.Stderr, "reverseproxy: %v\n", err)
		os.Exit(1)
	}
}

// run builds the proxy, listens and serves until the process is stopped.
func run(listen, cert, key, upstream, ca string, idle int) error {
	if cert == "" || key == "" || upstream == "" || ca == "" {
		return fmt.Errorf("--cert, --key, --upstream and --ca are required")
	}
	if idle < 0 {
		return fmt.Errorf("--max-idle-per-host %d: want 0 or more", idle)
	}
	proxy, err := newProxy(upstream, ca, idle)
	if err != nil {
		return err
	}
	return serve(listen, cert, key, proxy)
}
