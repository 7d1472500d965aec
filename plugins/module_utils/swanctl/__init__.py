# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""strongSwan (swanctl) support for the tunnel modules, one concern a module:

* ``constants``: option values and defaults the modules' argument specs share, and ``SwanctlError``;
* ``validate``: tunnel specs checked and normalised, every problem reported at once;
* ``render``: the connection file and the secrets file of one tunnel;
* ``syntax``: the syntax check of the whole swanctl tree before a load, and the reading of a load's output;
* ``parse``: ``swanctl --list-sas/--list-conns --pretty`` as plain data;
* ``status``: drift between a spec and the loaded connection, and a tunnel's status;
* ``log``: the daemon's log lines of one connection;
* ``vici``: vici's wire format, and a tap on charon's log events;
* ``runner``: the one way to run swanctl (locally or through a prefix such as ``docker exec``).

All but ``runner`` and ``vici.ViciLogTap`` are pure: they run no command, open no socket and touch no
file, so they are unit-tested directly against captured strongSwan output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
