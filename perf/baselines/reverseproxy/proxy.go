// The ReverseProxy and its upstream Transport, set up as the Go capsule-proxy sets them up
// (internal/webserver/webserver.go NewKubeFilter and internal/options/kube.go ReverseProxyTransport upstream).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

// flushInterval is the Go capsule-proxy's: bodies of known length are flushed every 100 ms; bodies of unknown
// length (watches, chunked answers) are flushed after every write by ReverseProxy itself.
const flushInterval = 100 * time.Millisecond

// newProxy returns a single-host ReverseProxy to upstream, trusting the CA bundle at caPath and keeping up to
// idlePerHost idle upstream connections (0: Go's default).
func newProxy(upstream, caPath string, idlePerHost int) (*httputil.ReverseProxy, error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("--upstream %q: %w", upstream, err)
	}
	if target.Scheme != "https" || target.Host == "" {
		return nil, fmt.Errorf("--upstream %q: want https://HOST:PORT", upstream)
	}
	transport, err := newTransport(caPath, idlePerHost)
	if err != nil {
		return nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = flushInterval
	proxy.Transport = transport
	return proxy, nil
}

// newTransport is a fresh http.Transport, not a clone of http.DefaultTransport, with the fields the Go
// capsule-proxy sets and no others. What follows from the fields it leaves at zero is deliberate:
//   - MaxIdleConnsPerHost 0 means http.DefaultMaxIdleConnsPerHost (2): beyond two idle upstream connections,
//     connections are closed when a request finishes and new ones dialled (with a TLS handshake) under load
//     (idlePerHost above 0 overrides it, a deviation from upstream for a tuned run);
//   - ForceAttemptHTTP2 false with a custom DialContext and TLSClientConfig: HTTP/1.1 to the upstream;
//   - IdleConnTimeout, ResponseHeaderTimeout 0: no limit.
//
// The TLS client configuration is what client-go's transport.TLSConfigFor makes of a rest.Config with a CA
// bundle: TLS 1.2 at least, the CA as the only root, no ALPN protocols.
func newTransport(caPath string, idlePerHost int) (*http.Transport, error) {
	pem, err := os.ReadFile(caPath)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca %s: no PEM certificate in it", caPath)
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
		MaxIdleConnsPerHost: idlePerHost,
	}, nil
}
