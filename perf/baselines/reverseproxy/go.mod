module capsule-proxy/perf/baselines/reverseproxy

go 1.19
