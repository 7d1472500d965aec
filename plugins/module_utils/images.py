# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions for listing images and guarding their removal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

from ansible_collections.poscloud.fleet.plugins.module_utils.common import LABEL_PREFIX

# What image_build makes, and every kind of image the collection labels.
BUILD_KINDS = ('media', 'lab')
KINDS = BUILD_KINDS + ('snapshot',)


def filter_argument_spec():
    """The options of the poscloud.fleet.image_filters documentation fragment: what ``list_images``
    selects by (name, store, kind, labels)."""
    return dict(
        name=dict(type='str'),
        store=dict(type='str'),
        kind=dict(type='str', choices=list(KINDS)),
        labels=dict(type='dict', default={}),
    )


def summarize(image, containers_by_image):
    """A compact description of a ``docker image inspect`` entry."""
    labels = (image.get('Config') or {}).get('Labels') or {}
    tags = sorted(image.get('RepoTags') or [])
    repositories = sorted(set(t.rsplit(':', 1)[0] for t in tags))
    containers = sorted(containers_by_image.get(image['Id'], []))
    return {
        'id': image['Id'],
        'short_id': image['Id'].split(':', 1)[-1][:12],
        'tags': tags,
        'repositories': repositories,
        'created': image.get('Created', ''),
        'size': image.get('Size', 0),
        'labels': labels,
        'kind': labels.get(LABEL_PREFIX + 'kind'),
        'store': labels.get(LABEL_PREFIX + 'store'),
        'patch_level': labels.get(LABEL_PREFIX + 'patch-level'),
        'input_hash': labels.get(LABEL_PREFIX + 'input-hash'),
        'containers': containers,
        'in_use': bool(containers),
    }


def matches(summary, name=None, store=None, kind=None, labels=None):
    """Whether an image summary passes the filters. ``name`` is a glob over repository names."""
    if name and not any(fnmatch.fnmatchcase(r, name) or fnmatch.fnmatchcase(t, name)
                        for r in summary['repositories'] for t in summary['tags']):
        return False
    if store and summary['store'] != store:
        return False
    if kind and summary['kind'] != kind:
        return False
    for key, value in (labels or {}).items():
        if summary['labels'].get(key) != str(value):
            return False
    return True


def newest_snapshots(summaries):
    """Image ids that are the newest snapshot of their store: {store: id}."""
    newest = {}
    for s in summaries:
        if s['kind'] != 'snapshot' or not s['store']:
            continue
        current = newest.get(s['store'])
        if current is None or s['created'] > current['created']:
            newest[s['store']] = s
    return dict((store, s['id']) for store, s in newest.items())


def removal_blockers(selected, all_summaries):
    """Reasons each selected image may not be removed without force: list of (summary, reason)."""
    newest = newest_snapshots(all_summaries)
    newest_ids = dict((image_id, store) for store, image_id in newest.items())
    blockers = []
    for s in selected:
        if s['containers']:
            plural = 's' if len(s['containers']) > 1 else ''
            blockers.append((s, 'used by container%s %s' % (plural, ', '.join(s['containers']))))
        elif s['id'] in newest_ids:
            blockers.append((s, 'the newest snapshot of store %s' % newest_ids[s['id']]))
    return blockers


def describe(summary):
    return ', '.join(summary['tags']) or summary['short_id']


def list_images(docker, params):
    """Summaries of the images that pass the filters in ``params``, newest first."""
    filters = [] if params.get('all') else ['label=%skind' % LABEL_PREFIX]
    if params.get('kind'):
        filters = ['label=%skind=%s' % (LABEL_PREFIX, params['kind'])]
    if params.get('store'):
        filters.append('label=%sstore=%s' % (LABEL_PREFIX, params['store']))
    images = docker.inspect_images(docker.image_ids(filters=filters))
    by_image = docker.containers_by_image()
    summaries = [summarize(i, by_image) for i in images]
    if params.get('all'):
        summaries = [s for s in summaries if s['tags'] or s['labels'].get(LABEL_PREFIX + 'kind')]
    summaries = [s for s in summaries
                 if matches(s, params.get('name'), params.get('store'), params.get('kind'), params.get('labels'))]
    summaries.sort(key=lambda s: s['created'], reverse=True)
    return summaries
