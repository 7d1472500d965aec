# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""poscloud: the store operator's console.

  poscloud                          the store list (search by id or name), then a store's menu
  poscloud --store 12345678         straight to store 12345678's menu
  poscloud --inventory PATH         another inventory (the lab, inventories/lab, by default)
  poscloud status --store 12345678  print the store's header and exit (for scripts)
  poscloud stores                   print the inventory's stores and exit
"""
import argparse
import sys

from poscloud_console.header import header_lines, read_header
from poscloud_console.project import ConsoleError, find_store, load_hosts, project_root, resolve_inventory


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='poscloud', description="The store operator's console over the poscloud.fleet playbooks.",
        epilog='Every action runs a playbook of the collection; its log is kept under .state/console/.')
    parser.add_argument('command', nargs='?', default='console', choices=('console', 'status', 'stores'),
                        help='console (the default): the menu; status: print a store header; stores: list the stores')
    parser.add_argument('--store', metavar='ID', help='the store id (8 digits) or inventory name')
    parser.add_argument('--inventory', '-i', metavar='PATH', help='the inventory (default: the lab, inventories/lab)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        root = project_root()
        inventory = resolve_inventory(root, args.inventory)
        if args.command == 'status':
            if not args.store:
                raise ConsoleError('status needs --store ID (for example: poscloud status --store 12345678)')
            host = find_store(load_hosts(root, inventory), args.store)
            print('\n'.join(header_lines(read_header(root, inventory, host))))
            return 0
        if args.command == 'stores':
            for h in load_hosts(root, inventory):
                print('%-8s %-10s %-28s %s' % (h.kind, h.ident, h.title or '-', h.pos_ip or '-'))
            return 0
        hosts = load_hosts(root, inventory)
        start = find_store(hosts, args.store) if args.store else None
        from poscloud_console.app import ConsoleApp  # the terminal UI only when it is asked for
        ConsoleApp(root, inventory, hosts, start).run()
        return 0
    except ConsoleError as e:
        print('poscloud: %s' % e, file=sys.stderr)
        return 2
