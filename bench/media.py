"""Benchmark of OS media builds, side by side with `docker build` of an equivalent Dockerfile.

Measured in one run, on this machine:

1. image_build cold: the lab's OS media inputs, with an empty package cache and no image carrying
   the input hash (a bench label makes the hash unique to this run).
2. image_build warm no-op: the same inputs again, five times; the median of the module alone
   (run as Ansible runs it on the target, without the controller's start-up) and of a whole
   `ansible` ad-hoc command.
3. docker build of the equivalent Dockerfile: a minbase root made by debootstrap (docker cannot
   bootstrap a distribution itself, so this part is prepared untimed), `ADD` to a scratch image,
   then the same packages and updates with apt-get, and the same labels. Timed cold, then five
   times with a warm build cache (median).

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


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def timed(cmd, **kw):
    start = time.monotonic()
    out = sh(cmd, **kw)
    return time.monotonic() - start, out.stdout


def module_args(cache, work):
    return {
        'name': BENCH_REPO,
        'packages': PACKAGES,
        'labels': {'poscloud.fleet.bench': RUN_ID},
        'package_cache': cache,
        'work_dir': work,
    }


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
        # 1. cold
        t_cold, out = timed(['ansible', 'lab_build', '-i', os.path.join(ROOT, 'inventories/lab'),
                             '-m', 'poscloud.fleet.image_build', '-a', json.dumps(args)], env=env, cwd=ROOT)
        result = json.JSONDecoder().raw_decode(out[out.index('{'):])[0]['plays'][0]['tasks'][0]['hosts']['lab_build']
        assert result.get('built'), result.get('msg')
        phases = ', '.join('%s %.1fs' % (p['name'], p['seconds']) for p in result['phases'])
        figures.append(('image_build cold (ansible ad-hoc, whole command)', t_cold, phases))

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
        adhoc = []
        for dummy in range(REPEAT):
            t, out = timed(['ansible', 'lab_build', '-i', os.path.join(ROOT, 'inventories/lab'),
                            '-m', 'poscloud.fleet.image_build', '-a', json.dumps(args)], env=env, cwd=ROOT)
            assert '"changed": false' in out, out
            adhoc.append(t)
        noop = statistics.median(alone)
        figures.append(('image_build warm no-op, the module (median of %d)' % REPEAT, noop, ''))
        figures.append(('image_build warm no-op, ansible ad-hoc (median of %d)' % REPEAT, statistics.median(adhoc),
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
        subprocess.run(['docker', 'image', 'rm', '--force', '%s:latest' % BENCH_REPO], capture_output=True, check=False)
        ids = subprocess.run(['docker', 'image', 'ls', '-q', '--filter', 'label=poscloud.fleet.bench=%s' % RUN_ID],
                             capture_output=True, text=True, check=False).stdout.split()
        ids += subprocess.run(['docker', 'image', 'ls', '-q', '--filter', 'label=poscloud.fleet.bench-dockerfile=%s' % RUN_ID],
                              capture_output=True, text=True, check=False).stdout.split()
        if ids:
            subprocess.run(['docker', 'image', 'rm', '--force'] + sorted(set(ids)), capture_output=True, check=False)
        subprocess.run(['docker', 'builder', 'prune', '--force'], capture_output=True, check=False)
        subprocess.run(['rm', '-rf', scratch], check=False)

    print()
    print('OS media build benchmark (%d cores, run %s)' % (os.cpu_count(), RUN_ID))
    print('%-64s %9s  %s' % ('', 'seconds', 'notes'))
    for name, seconds, note in figures:
        print('%-64s %9.2f  %s' % (name, seconds, note))
    cold = figures[0][1]
    print()
    print('cold build:   %6.1f s   target <= 90 s              %s' % (cold, 'met' if cold <= 90 else 'NOT MET'))
    print('warm no-op:   %6.2f s   target <= 2 s               %s' % (noop, 'met' if noop <= 2 else 'NOT MET'))
    ratio = noop / t_dwarm
    print('no-op / cached docker build: %.2f   target <= 0.5   %s' % (ratio, 'met' if ratio <= 0.5 else 'NOT MET'))
    print('ad-hoc no-op / cached docker build: %.2f' % (statistics.median(adhoc) / t_dwarm))


if __name__ == '__main__':
    main()
