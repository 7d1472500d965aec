"""Benchmark of OS media builds, side by side with `docker build` of an equivalent Dockerfile.

Measured in one run, on this machine:

1. image_build cold with each builder, mmdebstrap and debootstrap, for the same inputs (the lab's
   OS media packages, the suite with its update and security suites from the host's apt sources,
   the archive keyring), without a package cache and with no image carrying the input hash (a bench
   label makes the hash unique to each build). The builders alternate, three builds each, so a
   busy machine slows both alike; the median and the range of each are printed. The package sets
   (name=version of every installed package) must be equal; the difference is printed if not.
   Both verify the Release signatures: each is also run once with a keyring that lacks the
   archive's signing keys, and must refuse the mirror.
2. image_build warm no-op: the same inputs again, five times; the median of the module alone
   (run as Ansible runs it on the target, without the controller's start-up) and of a whole
   `ansible` ad-hoc command.
3. docker build of the equivalent Dockerfile: a minbase root made by debootstrap (docker cannot
   bootstrap a distribution itself, so this part is prepared untimed), `ADD` to a scratch image,
   then the same packages and updates with apt-get, and the same labels. Timed cold, then five
   times with a warm build cache (median).

`--builders-only` runs the first part alone.

Run it with `make bench` or `bench/media.sh`. Everything it makes is removed at the end.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
RUN_ID = time.strftime('%Y%m%dT%H%M%S')
BENCH_REPO = 'poscloud/bench-media'
DOCKER_REPO = 'poscloud/bench-dockerfile'
PACKAGES = ['python3', 'ca-certificates', 'openssh-server', 'rsync', 'iproute2', 'procps', 'sqlite3',
            'strongswan-swanctl', 'charon-systemd', 'libcharon-extra-plugins', 'libstrongswan-standard-plugins']
REPEAT = 5
COLD_RUNS = 3
BUILDERS = ('mmdebstrap', 'debootstrap')
DEFAULT_BUILDER = 'debootstrap'
# Old keys the archive no longer signs with: a keyring that must make both builders refuse the mirror.
WRONG_KEYRING = '/usr/share/keyrings/debian-archive-removed-keys.gpg'
SIGNATURE_ERRORS = ('NO_PUBKEY', 'unknown key', "couldn't be verified", 'not signed', 'Invalid Release signature')


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def timed(cmd, **kw):
    start = time.monotonic()
    out = sh(cmd, **kw)
    return time.monotonic() - start, out.stdout


def module_args(cache, work, **extra):
    args = {
        'name': BENCH_REPO,
        'packages': PACKAGES,
        'labels': {'poscloud.fleet.bench': RUN_ID},
        'package_cache': cache,
        'work_dir': work,
    }
    args.update(extra)
    return dict((k, v) for k, v in args.items() if v is not None)


def adhoc(args, env, check=True):
    """Run image_build through `ansible` on the lab's build host: (seconds, the module's result)."""
    start = time.monotonic()
    proc = subprocess.run(['ansible', 'lab_build', '-i', os.path.join(ROOT, 'inventories/lab'),
                           '-m', 'poscloud.fleet.image_build', '-a', json.dumps(args)], env=env, cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    seconds = time.monotonic() - start
    out = proc.stdout
    result = json.JSONDecoder().raw_decode(out[out.index('{'):])[0]['plays'][0]['tasks'][0]['hosts']['lab_build']
    if check:
        assert proc.returncode == 0 and result.get('built'), result.get('msg')
    return seconds, result


def package_set(result):
    return sorted('%(name)s=%(version)s' % p for p in result['manifest'])


def spread(values):
    return '%.1f s (%.1f-%.1f)' % (statistics.median(values), min(values), max(values))


def compare_builders(scratch, env):
    """Cold builds with each builder, alternating; returns (times, package sets, phases, signature lines)."""
    times = dict((b, []) for b in BUILDERS)
    sets = dict((b, []) for b in BUILDERS)
    phases = dict((b, []) for b in BUILDERS)
    order = [BUILDERS[i % 2] if (i // 2) % 2 == 0 else BUILDERS[1 - i % 2] for i in range(2 * COLD_RUNS)]
    for i, builder in enumerate(order):
        args = module_args(None, os.path.join(scratch, 'work'), builder=builder,
                           labels={'poscloud.fleet.bench': '%s-%s-%d' % (RUN_ID, builder, i)})
        seconds, result = adhoc(args, env)
        times[builder].append(seconds)
        sets[builder].append(package_set(result))
        phases[builder].append(', '.join('%s %.1f' % (p['name'], p['seconds']) for p in result['phases']))
        print('  cold build %d/%d  %-11s %5.1f s  %d packages  (%s)' % (
            i + 1, len(order), builder, seconds, len(result['manifest']), phases[builder][-1]), flush=True)
    signatures = []
    for builder in BUILDERS:
        args = module_args(None, os.path.join(scratch, 'work'), builder=builder, keyring=WRONG_KEYRING,
                           labels={'poscloud.fleet.bench': '%s-%s-keyring' % (RUN_ID, builder)})
        dummy, result = adhoc(args, env, check=False)
        msg = result.get('msg', '').replace(result.get('mirror') or '<mirror>', '<mirror>')
        refused = result.get('failed') is True and any(e in msg for e in SIGNATURE_ERRORS)
        line = [l.strip() for l in msg.splitlines() if any(e in l for e in SIGNATURE_ERRORS)]
        line = (line or [msg.strip()])[0]
        if line.startswith('%s failed' % builder):  # the module's prefix: keep the tool's words
            line = line.split(':', 1)[-1].strip()
        signatures.append((builder, refused, line[:160]))
    return times, sets, phases, signatures


def print_builders(times, sets, phases, signatures):
    print()
    print('Cold OS media build, the same inputs, %d builds each, alternating (median, range):' % COLD_RUNS)
    for builder in BUILDERS:
        print('  %-11s %s   packages %d   phases of the median build: %s' % (
            builder, spread(times[builder]), len(sets[builder][0]),
            phases[builder][times[builder].index(sorted(times[builder])[len(times[builder]) // 2])]))
    ratio = statistics.median(times['mmdebstrap']) / statistics.median(times['debootstrap'])
    print('  mmdebstrap / debootstrap: %.2f' % ratio)
    every = [frozenset(x) for b in BUILDERS for x in sets[b]]
    if len(set(every)) == 1:
        print('  package sets: equal (%d name=version pairs, every build of both builders)' % len(every[0]))
    else:
        a, b = set(sets['mmdebstrap'][0]), set(sets['debootstrap'][0])
        print('  package sets: DIFFER (%d name=version pairs in common)' % len(a & b))
        print('    only mmdebstrap:  %s' % (' '.join(sorted(a - b)) or '-'))
        print('    only debootstrap: %s' % (' '.join(sorted(b - a)) or '-'))
        for builder in BUILDERS:
            if len(set(frozenset(x) for x in sets[builder])) > 1:
                print('    %s builds differ among themselves (the mirror changed during the run?)' % builder)
    for builder, refused, line in signatures:
        print('  signatures: %-11s with a keyring lacking the archive keys: %s  (%s)' % (
            builder, 'refused' if refused else 'NOT REFUSED', line))
    print()
    for builder in sorted(BUILDERS, key=lambda b: b != DEFAULT_BUILDER):
        cold = statistics.median(times[builder])
        print('cold build, %-11s %-9s %s   target <= 45 s (was 60.5 s)   %s' % (
            builder, '(default)' if builder == DEFAULT_BUILDER else '', spread(times[builder]),
            'met' if cold <= 45 else 'NOT MET'))


def cleanup(scratch):
    subprocess.run(['docker', 'image', 'rm', '--force', '%s:latest' % BENCH_REPO], capture_output=True, check=False)
    ids = []
    for label in ('poscloud.fleet.bench', 'poscloud.fleet.bench-dockerfile'):
        for line in subprocess.run(['docker', 'image', 'ls', '--format', '{{.ID}} {{.Repository}}',
                                    '--filter', 'label=%s' % label], capture_output=True, text=True,
                                   check=False).stdout.splitlines():
            image_id, repo = line.split()[0], line.split()[-1]
            if repo in (BENCH_REPO, DOCKER_REPO):
                ids.append(image_id)
    if ids:
        subprocess.run(['docker', 'image', 'rm', '--force'] + sorted(set(ids)), capture_output=True, check=False)
    subprocess.run(['rm', '-rf', scratch], check=False)


def main():
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ['PATH'],
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
               ANSIBLE_LOAD_CALLBACK_PLUGINS='1')
    scratch = tempfile.mkdtemp(prefix='poscloud-bench-', dir='/var/tmp')
    cache = os.path.join(scratch, 'debs')
    work = os.path.join(scratch, 'work')
    args = module_args(cache, work)
    figures = []
    try:
        # 1. cold, both builders
        times, sets, phases, signatures = compare_builders(scratch, env)
        if '--builders-only' in sys.argv[1:]:
            print_builders(times, sets, phases, signatures)
            return
        t_cold, result = adhoc(args, env)
        figures.append(('image_build cold, %s, package cache filled (ansible ad-hoc)' % DEFAULT_BUILDER, t_cold,
                        ', '.join('%s %.1fs' % (p['name'], p['seconds']) for p in result['phases'])))

        # 2. warm no-op: the module alone, and the ad-hoc command
        args_file = os.path.join(scratch, 'args.json')
        with open(args_file, 'w') as f:
            json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
        module_env = dict(env, PYTHONPATH=os.path.join(ROOT, '.collections'))
        module = os.path.join(ROOT, 'plugins/modules/image_build.py')
        alone = []
        for dummy in range(REPEAT):
            t, out = timed([sys.executable, module, args_file], env=module_env)
            assert '"changed": false' in out, out
            alone.append(t)
        adhoc_times = []
        for dummy in range(REPEAT):
            t, out = timed(['ansible', 'lab_build', '-i', os.path.join(ROOT, 'inventories/lab'),
                            '-m', 'poscloud.fleet.image_build', '-a', json.dumps(args)], env=env, cwd=ROOT)
            assert '"changed": false' in out, out
            adhoc_times.append(t)
        noop = statistics.median(alone)
        figures.append(('image_build warm no-op, the module (median of %d)' % REPEAT, noop, ''))
        figures.append(('image_build warm no-op, ansible ad-hoc (median of %d)' % REPEAT, statistics.median(adhoc_times),
                        'includes ~1 s of Ansible start-up'))

        # 3. docker build of the equivalent Dockerfile
        ctx = os.path.join(scratch, 'dockerfile')
        os.makedirs(ctx)
        mirror = result['mirror']
        sh(['debootstrap', '--variant=minbase', '--keyring=/usr/share/keyrings/debian-archive-keyring.gpg',
            '--cache-dir=%s' % cache, 'bookworm', os.path.join(scratch, 'rootfs'), mirror])
        sh(['tar', '-C', os.path.join(scratch, 'rootfs'), '--numeric-owner', '-cf', os.path.join(ctx, 'rootfs.tar'), '.'])
        sources = open(os.path.join(scratch, 'rootfs/etc/apt/sources.list')).read() if os.path.exists(
            os.path.join(scratch, 'rootfs/etc/apt/sources.list')) else ''
        updates = ''.join('deb %s %s main\n' % (u, s) for u, s in (
            (e.split()[0], e.split()[1]) for e in result['inputs']['options']['sources']))
        with open(os.path.join(ctx, 'sources.list'), 'w') as f:
            f.write(updates or sources)
        labels = ' '.join('%s=%s' % (k, json.dumps(v)) for k, v in sorted(result['image']['labels'].items())
                          if k != 'poscloud.fleet.bench')
        with open(os.path.join(ctx, 'Dockerfile'), 'w') as f:
            f.write('FROM scratch\n'
                    'ADD rootfs.tar /\n'
                    'COPY sources.list /etc/apt/sources.list\n'
                    'RUN apt-get -q update && DEBIAN_FRONTEND=noninteractive apt-get -q -y dist-upgrade'
                    ' && DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends install %s'
                    ' && apt-get clean && rm -rf /var/lib/apt/lists/*\n'
                    'LABEL poscloud.fleet.bench-dockerfile=%s %s\n'
                    'CMD ["/bin/bash"]\n' % (' '.join(PACKAGES), RUN_ID, labels))
        ref = '%s:%s' % (DOCKER_REPO, RUN_ID)
        t_dcold, dummy = timed(['docker', 'build', '-q', '-t', ref, ctx])
        figures.append(('docker build, equivalent Dockerfile, cold', t_dcold,
                        'after an untimed debootstrap of the minbase root'))
        warm = []
        for dummy in range(REPEAT):
            t, dummy = timed(['docker', 'build', '-q', '-t', ref, ctx])
            warm.append(t)
        t_dwarm = statistics.median(warm)
        figures.append(('docker build, equivalent Dockerfile, warm cache (median of %d)' % REPEAT, t_dwarm,
                        'legacy builder; context %d MB' % (os.path.getsize(os.path.join(ctx, 'rootfs.tar')) // 2**20)))
    finally:
        cleanup(scratch)

    print()
    print('OS media build benchmark (%d cores, run %s)' % (os.cpu_count(), RUN_ID))
    print('%-64s %9s  %s' % ('', 'seconds', 'notes'))
    for name, seconds, note in figures:
        print('%-64s %9.2f  %s' % (name, seconds, note))
    print_builders(times, sets, phases, signatures)
    print('warm no-op:   %6.2f s   target <= 2 s               %s' % (noop, 'met' if noop <= 2 else 'NOT MET'))
    ratio = noop / t_dwarm
    print('no-op / cached docker build: %.2f   target <= 0.5   %s' % (ratio, 'met' if ratio <= 0.5 else 'NOT MET'))
    print('ad-hoc no-op / cached docker build: %.2f' % (statistics.median(adhoc_times) / t_dwarm))


if __name__ == '__main__':
    main()
