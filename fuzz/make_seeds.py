#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (run from anywhere; existing seeds are overwritten).

Each seed starts with the knob bytes its target reads (see the header of fuzz_targets/<target>.rs).
"""

import base64
import hashlib
import os
import urllib.parse

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# Three self-signed P-256 certificates (base64 DER): alice in two groups, a service account, UTF-8 names.
CERTS = {
    "alice": "MIIB2TCCAX+gAwIBAgIUGrYfljQF2LRszEVdZ6LGEc6N2iUwCgYIKoZIzj0EAwIwQjEOMAwGA1UEAwwFYWxpY2UxGzAZBgNVBAoMEnByb2plY3RjYXBzdWxlLmRldjETMBEGA1UECgwKb2lsLW93bmVyczAeFw0yNjEyMDYwMTE5MTlaFw0zNjEyMDMwMTE5MTlaMEIxDjAMBgNVBAMMBWFsaWNlMRswGQYDVQQKDBJwcm9qZWN0Y2Fwc3VsZS5kZXYxEzARBgNVBAoMCm9pbC1vd25lcnMwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASXlXJVvOSl/Jy6qecug/OiRi5URVqLOFW90a0agR5vtuhjlL5uM3HZXxZXEBLl1Uer7MxHhbYExheal1Q7SF7qo1MwUTAdBgNVHQ4EFgQUxoVGDNO2S71p8l8e873lVAGwB1wwHwYDVR0jBBgwFoAUxoVGDNO2S71p8l8e873lVAGwB1wwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBHveu/QxhCH2YiDQ/h66zbV4LNiRty3mWrj+Jiw6xUgAIhAJ0E2zz15HXYwUxdt7pf32nF5fNdT/DM8Z3cePr4A35P",
    "serviceaccount": "MIIBzjCCAXWgAwIBAgIUC/Ct+odnHTi9sxuJUzPEPEpwUhgwCgYIKoZIzj0EAwIwPTE7MDkGA1UEAwwyc3lzdGVtOnNlcnZpY2VhY2NvdW50OmNhcHN1bGUtc3lzdGVtOmNhcHN1bGUtcHJveHkwHhcNMjYxMjA2MDExOTE5WhcNMzYxMjAzMDExOTE5WjA9MTswOQYDVQQDDDJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2Fwc3VsZS1zeXN0ZW06Y2Fwc3VsZS1wcm94eTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABG2B49p0/b6anEa1jfRZ+f7HumaWO3JwlLsubGpUrDFZ2m4zrXiWJx1FeWMI8RFKcFrVlSMnt6ml9s0osUBvvbujUzBRMB0GA1UdDgQWBBT5UVMiY37SHHOATVne0PEqPdl8GDAfBgNVHSMEGDAWgBT5UVMiY37SHHOATVne0PEqPdl8GDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIDe5eu/fV8iRFv0HJ89nJQkDyPkGww/cGCLxbu89pXMpAiBO+igKR+8vHamS5JGn7ZP+awggx68WNtl5AIMX4pp0FQ==",
    "utf8": "MIIBsTCCAVegAwIBAgIUMVqtHkbr05zu37jfLzA6nr2IVkswCgYIKoZIzj0EAwIwLjEWMBQGA1UEAwwNSm9zw6kgTcO8bGxlcjEUMBIGA1UECgwLdGVuYW50LWfDoXMwHhcNMjYxMjA2MDExOTE5WhcNMzYxMjAzMDExOTE5WjAuMRYwFAYDVQQDDA1Kb3PDqSBNw7xsbGVyMRQwEgYDVQQKDAt0ZW5hbnQtZ8OhczBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNqmhuCyjw0fdYDEV34YVyBbFwbNpSv5DO+B2JxkANRIFH7lkm0MbZbdvnNNg3Z8lhqtRPTHQWDQgWFkADKf6M6jUzBRMB0GA1UdDgQWBBR8DROAE6ujQjRAf6jjL5NUSjyX6DAfBgNVHSMEGDAWgBR8DROAE6ujQjRAf6jjL5NUSjyX6DAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIH40Iz0cUaCntfjpkQlnEUPDoCYeN6+FUu1ZwfH07hlEAiEAmxeUdtVaNi9zlCVSw5pcqJ4Gk9qHPGcx2nLPJJrUJpc=",
}


def write(target, name, data):
    path = os.path.join(ROOT, target)
    os.makedirs(path, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def crlf(*lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


KUBECTL = [
    "User-Agent: kubectl/v1.33.0 (linux/amd64) kubernetes/8adc0f0",
    "Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
    "Authorization: Bearer alice-token",
    "Kubectl-Command: kubectl get",
    "Kubectl-Session: 3b8c6f7e-1d2a-4c5b-9e0f-a1b2c3d4e5f6",
    "Accept-Encoding: gzip",
]

HEADS = {
    "kubectl-get-pods": crlf("GET /api/v1/namespaces/oil-dev/pods?limit=500 HTTP/1.1", "Host: 127.0.0.1:9001", *KUBECTL),
    "kubectl-watch-namespaces": crlf(
        "GET /api/v1/namespaces?allowWatchBookmarks=true&resourceVersion=42&watch=true HTTP/1.1",
        "Host: proxy:9001", *KUBECTL),
    "kubectl-create-json": crlf(
        "POST /api/v1/namespaces/oil-dev/configmaps?fieldManager=kubectl-client-side-apply HTTP/1.1",
        "Host: proxy:9001", "Content-Type: application/json", "Content-Length: 62", *KUBECTL)
        + b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}',
    "chunked-put": crlf("PUT /api/v1/namespaces/oil-dev/configmaps/a HTTP/1.1", "Host: k",
                        "Transfer-Encoding: chunked", "Content-Type: application/json") + b"2\r\n{}\r\n0\r\n\r\n",
    "exec-upgrade": crlf("POST /api/v1/namespaces/oil-dev/pods/p/exec?command=sh&stdin=true&tty=true HTTP/1.1",
                         "Host: k", "Connection: Upgrade", "Upgrade: SPDY/3.1",
                         "X-Stream-Protocol-Version: v5.channel.k8s.io", "Authorization: Bearer t"),
    "websocket-upgrade": crlf("GET /api/v1/namespaces/oil-dev/pods/p/exec?command=ls HTTP/1.1", "Host: k",
                              "Connection: keep-alive, Upgrade", "Upgrade: websocket",
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
                              "Sec-WebSocket-Protocol: base64url.bearer.authorization.k8s.io.YWxpY2UtdG9rZW4, v5.channel.k8s.io"),
    "http10": crlf("GET /version HTTP/1.0", "Connection: keep-alive", "Authorization: Bearer t"),
    "expect-continue": crlf("PUT /api/v1/namespaces/a/secrets/s HTTP/1.1", "Host: k", "Expect: 100-continue",
                            "Content-Length: 3"),
    "smuggle-connection-content-length": crlf("POST /api/v1/namespaces/a/configmaps HTTP/1.1", "Host: k",
                                              "Content-Length: 29", "Connection: keep-alive, Content-Length")
        + b"GET /api/v1/secrets HTTP/1.1\r\n",
    "smuggle-connection-transfer-encoding": crlf("POST /x HTTP/1.1", "Host: k", "Transfer-Encoding: chunked",
                                                 "Connection: Transfer-Encoding") + b"0\r\n\r\n",
    "smuggle-connection-host": crlf("GET /api/v1/namespaces HTTP/1.1", "Host: k", "Connection: Host, X-Hop",
                                    "X-Hop: 1", "Keep-Alive: timeout=5"),
    "smuggle-cl-te": crlf("POST / HTTP/1.1", "Host: k", "Content-Length: 6", "Transfer-Encoding: chunked") + b"0\r\n\r\nG",
    "smuggle-te-variants": crlf("POST / HTTP/1.1", "Host: k", "Transfer-Encoding: chunked, chunked"),
    "smuggle-te-tab": b"POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding:\tchunked\r\nTransfer-Encoding: x\r\n\r\n",
    "smuggle-duplicate-cl": crlf("POST / HTTP/1.1", "Host: k", "Content-Length: 5", "Content-Length: 5"),
    "smuggle-bare-lf": b"GET / HTTP/1.1\nHost: k\nContent-Length: 0\n\n",
    "obs-fold": b"GET / HTTP/1.1\r\nHost: k\r\nX-A: a\r\n b\r\n\r\n",
    "options-star": crlf("OPTIONS * HTTP/1.1", "Host: k"),
    "pipelined": crlf("GET /api HTTP/1.1", "Host: k") + crlf("GET /apis HTTP/1.1", "Host: k"),
    "leading-crlf": b"\r\n" + crlf("GET /healthz HTTP/1.1", "Host: k"),
}

def request_head():
    for name, head in HEADS.items():
        write("request_head", name, b"\x00\x00" + head)
    write("request_head", "small-limits", b"\x90\x83" + HEADS["kubectl-get-pods"])
    write("request_head", "many-headers-cap", b"\x00\xff" + HEADS["websocket-upgrade"])


def chunked():
    bodies = {
        "simple": b"5\r\nhello\r\n0\r\n\r\n",
        "extensions": b'5;name=val;quoted="a b"\r\nhello\r\n0 ;last\r\n\r\n',
        "trailers": b"3\r\nabc\r\n0\r\nX-Checksum: 123\r\nX-Empty:\r\n\r\n",
        "leading-zeros": b"000a\r\n0123456789\r\n0000\r\n\r\n",
        "pipelined-next-request": b"2\r\n{}\r\n0\r\n\r\nGET /api/v1/secrets HTTP/1.1\r\nHost: k\r\n\r\n",
        "json-apply": b'1c\r\n{"kind":"Namespace","a":"b"}\r\n0\r\n\r\n',
        "data-with-crlf": b"4\r\n\r\n\r\n\r\n0\r\n\r\n",
        "smuggle-bare-lf": b"5\nhello\n0\n\n",
        "smuggle-size-overflow": b"ffffffffffffffff0\r\nx\r\n0\r\n\r\n",
        "smuggle-size-space": b"5 \r\nhello\r\n0\r\n\r\n",
        "smuggle-ext-lf": b"1;\nx\r\n0\r\n\r\n",
        "last-chunk-only": b"0\r\n\r\n",
        "uppercase-hex": b"A\r\n0123456789\r\nF\r\n0123456789abcde\r\n0\r\n\r\n",
    }
    for name, body in bodies.items():
        # ext limit, trailer limit (default), pieces, split seed.
        write("chunked", name, b"\x00\x00\x05\x2a\x17" + body)
    write("chunked", "small-limits", b"\x84\x88\x03\x01\x00" + bodies["trailers"])


def upstream_head():
    # Knob 0: auth % 3 (0 caller, 1 impersonate, 2 proxy), flags from bit 2: accept JSON, token, target,
    # prefix, uid, IPv6. Knob 1: bit 0 XFCC name, bits 1-3 groups, bits 4-7 extras.
    def k0(auth, accept_json=False, token=False, target=False, prefix=False, uid=False, ipv6=False):
        flags = [accept_json, token, target, prefix, uid, ipv6]
        return auth + 4 * sum(1 << i for i, f in enumerate(flags) if f)

    def seed(name, knob0, knob1, head, lines=()):
        write("upstream_head", name, bytes([knob0 % 256, knob1]) + head + "\n".join(lines).encode())

    seed("caller-kubectl", k0(0), 0, HEADS["kubectl-get-pods"])
    ident = ["", "", "proxy-token", "alice", "uid-42", "projectcapsule.dev", "oil-owners",
             "scopes/x=a,b", "authentication.kubernetes.io/pod-name=p"]
    seed("impersonate-cert-caller", k0(1, token=True, uid=True), (2 << 1) | (2 << 4),
         crlf("POST /api/v1/namespaces/oil-dev/configmaps HTTP/1.1", "Host: k", "Authorization: Bearer stolen",
              "Impersonate-User: admin", "X-Forwarded-Client-Cert: Cert=x", "X-Forwarded-For: 1.2.3.4",
              "Content-Length: 2"), ident)
    seed("proxy-filtered-list", k0(2, accept_json=True, token=True, target=True, prefix=True), 1,
         HEADS["kubectl-watch-namespaces"],
         ["k8s", "api/v1/namespaces?watch=true&labelSelector=capsule.clastix.io%2Ftenant+in+%28oil%29", "proxy-token"])
    for name in ["smuggle-connection-content-length", "smuggle-connection-transfer-encoding",
                 "smuggle-connection-host", "exec-upgrade", "websocket-upgrade", "http10", "expect-continue",
                 "chunked-put", "options-star"]:
        seed(name, k0(0), 0, HEADS[name])
    seed("smuggle-connection-authorization-impersonated", k0(1, token=True), 1 << 1,
         crlf("GET /api/v1/pods HTTP/1.1", "Host: k", "Connection: Authorization, Impersonate-User, Accept",
              "Impersonate-User: admin", "Accept: */*", "Content-Length: 0"), ["", "", "t", "bob", "", "g"])
    seed("crlf-in-identity", k0(1, ipv6=True), 1 << 1, HEADS["kubectl-get-pods"], ["", "", "", "bob\r\nX: y", "", "g"])


def selector_rewrite():
    cases = {
        "tenant-and-caller": "capsule.clastix.io/tenant in (gas,oil)\nlabelSelector=app%3Dweb&limit=500",
        "names-watch": "kubernetes.io/metadata.name in (oil-dev,oil-prod)\n"
                       "watch=1&resourceVersion=123&labelSelector=env+notin+%28prod%29%2C%21legacy",
        "two-caller-selectors": "!dontexistsignoreme\nlabelSelector=a&labelSelector=b%21%3Dc",
        "contradiction": "env=prod\nlabelSelector=env%3Dprod%2Cenv%21%3Dprod",
        "semicolon": "a\nlabelSelector=x;y=z",
        "bad-escape": "a\nlabelSelector=%zz&limit=1",
        "empty-in-quirk": "x in ()\nlabelSelector=y+in+%28%2C%29%2Cz%3D",
        "greater-less": "replicas>3\nlabelSelector=replicas%3C10",
        "encoded-key": "tier=web\nlabel%53elector=a%3Db&LabelSelector=c",
        "plus-spaces": "a\nlabelSelector=a+in+(b,c)&fieldSelector=metadata.name%3Dx",
        "no-proxy-selector": "\nlabelSelector=&limit=5",
        "exists-not-exists": "a,b,!c\nlabelSelector=tier%20in%20(a%2Cb),!d&continue=abc%3D%3D",
        "double-equals": "app==web\nlabelSelector=app%3D%3Dweb%2Capp%21%3Ddb",
        "utf8-value": "a=b\nlabelSelector=k%3D%C3%A9",
    }
    for name, text in cases.items():
        write("selector_rewrite", name, text)


def route_classify():
    # Knob: bits 0-2 method (GET POST PUT PATCH DELETE HEAD OPTIONS LIST), bit 3 ProxyClusterScoped.
    cases = {
        "namespaces-list": (0, "/api/v1/namespaces?watch=true"),
        "namespaces-trailing-slash": (0, "/api/v1/namespaces/"),
        "namespace-get": (0, "/api/v1/namespaces/oil-dev"),
        "escaped-slash": (0, "/api/v1/namespaces%2Foil-dev/pods"),
        "dot-dot": (0, "/api/v1/namespaces/../nodes"),
        "double-slash": (0, "//api/v1/nodes"),
        "tenants-watch": (0, "/apis/capsule.clastix.io/v1beta2/tenants?watch=true"),
        "self-subject-access-review": (1, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"),
        "all-namespaces-pods": (0, "/api/v1/pods?limit=500"),
        "namespaced-object-get": (0, "/api/v1/namespaces/oil-dev/pods/p1"),
        "cluster-scoped-gate": (8, "/apis/example.com/v1/widgets/w1"),
        "sub-resource": (0, "/api/v1/namespaces/oil-dev/pods/p1/log?follow=true"),
        "dot-segment": (0, "/apis/storage.k8s.io/v1/storageclasses/./standard"),
        "escaped-dots": (0, "/api/v1/nodes/%2E%2E/%2e"),
        "escaped-question": (4, "/api/v1/namespaces/a%3Fb/."),
        "legacy-delete": (4, "/api/v1/persistentvolumes/pv-1"),
    }
    for name, (knob, path) in cases.items():
        write("route_classify", name, bytes([knob]) + path.encode())


def xfcc():
    for name, b64 in CERTS.items():
        der = base64.b64decode(b64)
        pem = "-----BEGIN CERTIFICATE-----\n"
        pem += "".join(b64[i:i + 64] + "\n" for i in range(0, len(b64), 64))
        pem += "-----END CERTIFICATE-----\n"
        cert = urllib.parse.quote(pem, safe="")
        digest = hashlib.sha256(der).hexdigest()
        envoy = (f'By=spiffe://cluster.local/ns/capsule-system/sa/capsule-proxy;Hash={digest};'
                 f'Cert="{cert}";Subject="CN={name}";URI=;DNS={name}.example')
        write("xfcc", f"envoy-{name}", b"\x00" + envoy.encode())
        write("xfcc", f"der-{name}", b"\x01" + der)
    alice = base64.b64decode(CERTS["alice"])
    pem = "-----BEGIN CERTIFICATE-----\n" + CERTS["alice"] + "\n-----END CERTIFICATE-----\n"
    cert = urllib.parse.quote(pem, safe="")
    write("xfcc", "two-entries", b"\x00" + f'Cert="{cert}",Cert="{cert}"'.encode())
    write("xfcc", "two-headers", b"\x00" + f"Cert={cert}".encode() + b"\x00" + f"Cert={cert}".encode())
    write("xfcc", "wrong-hash", b"\x00" + f"Hash={'0' * 64};Cert={cert}".encode())
    write("xfcc", "quoted-comma", b'\x00By="a,b";Cert="' + cert.encode() + b'"')
    # Built Subjects: (type, tag index, length, value); type 0 CN, 1 O, 2 OU, 3 serial, 0x80 same RDN.
    # Tag index: 0 UTF8, 1 Printable, 2 T61, 3 IA5, 4 Numeric, 5 BMP, 6 Universal, 7 OCTET STRING.
    def attr(kind, tag, value):
        return bytes([kind, tag, len(value)]) + value

    write("xfcc", "built-alice", b"\x66" + attr(0, 0, b"alice") + attr(1, 1, b"oil-owners") + attr(0x81, 0, b"g"))
    write("xfcc", "built-bmp", b"\x26" + attr(0, 5, "bób".encode("utf-16-be")) + attr(1, 3, b"tenant"))
    write("xfcc", "built-control", b"\x32" + attr(0, 0, b"eve\r\nImpersonate-User: admin") + attr(1, 0, b"a\x00b"))
    write("xfcc", "bearer", b"\x00Bearer alice-token")
    write("xfcc", "websocket-bearer",
          b"\x00base64url.bearer.authorization.k8s.io.YWxpY2UtdG9rZW4, v5.channel.k8s.io")


if __name__ == "__main__":
    request_head()
    chunked()
    upstream_head()
    selector_rewrite()
    route_classify()
    xfcc()
