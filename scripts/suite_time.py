"""Where the end-to-end tests' time goes: reads the playbook outputs the tests keep under
tests/output/e2e (one JSON file per playbook run, named by the test that ran it) and prints the
time per test, per playbook run and per task name, longest first.

    python3 scripts/suite_time.py [--top N] [DIR]

A task's time is its wall time as the JSON callback records it (start to end, over every host
of the run); runs that happen in parallel (the two e2e streams) are not told apart.
"""
import argparse
import collections
import datetime
import json
import os
import sys


def parse_time(text):
    return datetime.datetime.strptime(text.rstrip('Z'), '%Y-%m-%dT%H:%M:%S.%f')


def load(path):
    with open(path) as f:
        raw = f.read()
    if '{' not in raw:
        return None
    return json.JSONDecoder().raw_decode(raw[raw.index('{'):])[0]


def runs(folder):
    """(test, playbook, seconds, [(task name, seconds)]) for every kept playbook output."""
    for name in sorted(os.listdir(folder)):
        if not name.endswith('.json'):
            continue
        parts = name[:-len('.json')].split('-', 1)
        test, playbook = (parts[1].rsplit('-', 1) + [''])[:2] if len(parts) > 1 else (name, '')
        data = load(os.path.join(folder, name))
        if not data:
            continue
        tasks, first, last = [], None, None
        for play in data.get('plays', []):
            for task in play.get('tasks', []):
                span = task['task'].get('duration', {})
                if not span.get('start') or not span.get('end'):
                    continue
                start, end = parse_time(span['start']), parse_time(span['end'])
                first = start if first is None or start < first else first
                last = end if last is None or end > last else last
                tasks.append((task['task']['name'], (end - start).total_seconds()))
        seconds = (last - first).total_seconds() if first else 0.0
        yield test, playbook, seconds, tasks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('folder', nargs='?', default=os.path.join('tests', 'output', 'e2e'))
    parser.add_argument('--top', type=int, default=25)
    args = parser.parse_args(argv)
    if not os.path.isdir(args.folder):
        sys.exit('suite-time: %s does not exist: run the e2e tier first' % args.folder)
    by_test = collections.Counter()
    count_test = collections.Counter()
    by_task = collections.Counter()
    count_task = collections.Counter()
    playbook_runs = 0
    total = 0.0
    for test, playbook, seconds, tasks in runs(args.folder):
        playbook_runs += 1
        total += seconds
        test = test.replace('--', '::')
        by_test[test] += seconds
        count_test[test] += 1
        for name, took in tasks:
            by_task[name] += took
            count_task[name] += 1
    print('%d playbook runs, %.0f s in playbooks' % (playbook_runs, total))
    print('\nper test (seconds in its playbooks, runs):')
    for test, seconds in by_test.most_common(args.top):
        print('  %7.1f  %3d  %s' % (seconds, count_test[test], test))
    print('\nper task name (seconds over all runs, times run):')
    for name, seconds in by_task.most_common(args.top):
        print('  %7.1f  %4d  %s' % (seconds, count_task[name], name))
    return 0


if __name__ == '__main__':
    sys.exit(main())
