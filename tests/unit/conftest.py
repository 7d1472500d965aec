"""Make the checkout importable as ansible_collections.poscloud.fleet for the unit tests."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.collections')
if not os.path.isdir(os.path.join(COLLECTIONS, 'ansible_collections', 'poscloud', 'fleet')):
    raise RuntimeError('run `make setup` first: it links the checkout as .collections/ansible_collections/poscloud/fleet')
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
