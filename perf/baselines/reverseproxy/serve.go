// The TLS listener and HTTP server, set up as the Go capsule-proxy's kubeFilter.Start sets them up
// (internal/webserver/webserver.go upstream) for bearer-token callers.
package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"time"
)

// serve listens on addr with the certificate pair and serves handler until the listener fails.
//
// As upstream: tls.Listen with a config that names no ALPN protocols, then Server.Serve (not ServeTLS), so the
// server speaks HTTP/1.1 only; TLS 1.2 and 1.3; the certificate comes from GetCertificate (upstream it is
// controller-runtime's certificate watcher); a 5 s ReadHeaderTimeout and no other timeout. Upstream also asks for
// a client certificate (VerifyClientCertIfGiven) when TLSCertificate is among its auth types; the suite's
// callers use bearer tokens, so this does not.
func serve(addr, certPath, keyPath string, handler http.Handler) error {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return fmt.Errorf("--cert/--key: %w", err)
	}
	config := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &pair, nil
		},
	}
	server := &http.Server{
		Handler:           handler,
		TLSConfig:         config,
		ReadHeaderTimeout: 5 * time.Second,
	}
	listener, err := tls.Listen("tcp", addr, config)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", addr, err)
	}
	fmt.Fprintf(os.Stderr, "ready on %s\n", listener.Addr())
	return server.Serve(listener)
}
