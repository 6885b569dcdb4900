#!/usr/bin/env python3
"""Run a command under a seccomp profile JSON, the way runc applies a Localhost profile, without a container.

    check-profile.py PROFILE.json [--drop NAME]... -- COMMAND [ARGS...]
    check-profile.py PROFILE.json --strace-summary FILE   # every syscall of `strace -f -c -o FILE` allowed?

Needs libseccomp's Python bindings (Debian: apt-get install python3-seccomp; run with /usr/bin/python3).
Applied like runc does it: default action and errno, the node's architecture plus its archMap
subArchitectures (or `architectures`), every rule with its argument comparisons and errnoRet, and a name that
this libseccomp does not know is skipped with a note (runc ignores it too: on such a node it stays blocked).
`--drop NAME` removes a name from every rule first: `--drop io_uring_setup --drop io_uring_enter
--drop io_uring_register` gives the RuntimeDefault behaviour for io_uring.
"""
import argparse
import json
import os
import re
import sys

try:
    import seccomp
except ImportError:  # only running a command needs libseccomp; --strace-summary does not
    seccomp = None



def action(name, errno_ret, default_errno):
    if name == 'SCMP_ACT_ALLOW':
        return seccomp.ALLOW
    if name == 'SCMP_ACT_ERRNO':
        return seccomp.ERRNO(default_errno if errno_ret is None else errno_ret)
    if name in ('SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD'):
        return seccomp.KILL
    if name == 'SCMP_ACT_KILL_PROCESS':
        return seccomp.KILL_PROCESS
    if name == 'SCMP_ACT_LOG':
        return seccomp.LOG
    sys.exit(f'check-profile: unsupported action {name}')


def arches(profile):
    native = seccomp.system_arch() & 0xffffffff
    names = list(profile.get('architectures') or [])
    for entry in profile.get('archMap') or []:
        if getattr(seccomp.Arch, entry['architecture'].removeprefix('SCMP_ARCH_')) & 0xffffffff == native:
            names += [entry['architecture']] + (entry.get('subArchitectures') or [])
    return [getattr(seccomp.Arch, n.removeprefix('SCMP_ARCH_')) for n in names]


def strace_names(path):
    # `strace -c` table rows end with the syscall name; skip the header, rulers and the total line.
    names = set()
    for line in open(path):
        m = re.match(r'^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+\s+(?:\d+\s+)?(\w+)\s*$', line)
        if m and m.group(1) != 'total':
            names.add(m.group(1))
    return names


def main():
    ap = argparse.ArgumentParser(usage=__doc__.split('\n\n')[1])
    ap.add_argument('profile')
    ap.add_argument('--drop', action='append', default=[], metavar='NAME')
    ap.add_argument('--strace-summary', metavar='FILE')
    argv = sys.argv[1:]
    command = argv[argv.index('--') + 1:] if '--' in argv else []
    opts = ap.parse_args(argv[:argv.index('--')] if '--' in argv else argv)
    profile = json.load(open(opts.profile))
    if profile.get('architectures') and profile.get('archMap'):
        sys.exit('check-profile: both architectures and archMap (Docker and CRI-O refuse that)')
    rules = [dict(r, names=[n for n in r['names'] if n not in opts.drop]) for r in profile['syscalls']]

    if opts.strace_summary:
        allowed = {n for r in rules if r['action'] == 'SCMP_ACT_ALLOW' for n in r['names']}
        conditional = {n for r in rules if r['action'] == 'SCMP_ACT_ALLOW' and r.get('args') for n in r['names']}
        errno = {n: r.get('errnoRet') for r in rules if r['action'] == 'SCMP_ACT_ERRNO' for n in r['names']}
        seen = strace_names(opts.strace_summary)
        missing = sorted(seen - allowed - set(errno))
        print(f'{len(seen)} syscalls seen; refused by the default action: {" ".join(missing) or "none"}')
        print(f'allowed only with argument checks: {" ".join(sorted(seen & conditional)) or "none"}')
        answered = ' '.join(f'{n} ({errno[n]})' for n in sorted(seen & set(errno)))
        print(f'answered with an errno by a rule: {answered or "none"}')
        sys.exit(1 if missing else 0)

    if not command:
        ap.error('no command after --')
    if seccomp is None:
        sys.exit("check-profile: needs libseccomp's Python bindings (Debian: python3-seccomp, /usr/bin/python3)")
    default_errno = profile.get('defaultErrnoRet', 1)
    f = seccomp.SyscallFilter(action(profile['defaultAction'], None, default_errno))
    for arch in arches(profile):
        if arch & 0xffffffff != seccomp.system_arch() & 0xffffffff:
            f.add_arch(arch)
    skipped = set()
    for r in rules:
        act = action(r['action'], r.get('errnoRet'), default_errno)
        args = [seccomp.Arg(a['index'], getattr(seccomp, a['op'].removeprefix('SCMP_CMP_')), a['value'],
                            a.get('valueTwo', 0)) for a in r.get('args') or []]
        for name in r['names']:
            if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) == -1:  # __NR_SCMP_ERROR: unknown name
                skipped.add(name)
                continue
            f.add_rule(act, name, *args)
    if skipped:
        print(f'check-profile: unknown to this libseccomp or this architecture, skipped: {" ".join(sorted(skipped))}',
              file=sys.stderr)
    if opts.drop:
        print(f'check-profile: dropped {" ".join(opts.drop)}', file=sys.stderr)
    f.load()
    os.execvp(command[0], command)


if __name__ == '__main__':
    main()
