# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GRUB boot-target switching, one concern a module:

* ``constants``: the environment block's size and signature, the variables of the boot-health
  contract, and the error classes;
* ``envblock``: the 1024-byte environment block (``grub-editenv`` and ``save_env``) and planned changes to it;
* ``tokens``: grub.cfg split into words as GRUB's script lexer does;
* ``menu``: the menu of grub.cfg, targets and how ``default`` picks an entry;
* ``trial``: the boot-health contract (arm, commit, roll back a one-time boot);
* ``devices``: whether the environment block lives where GRUB can write it;
* ``host``: what the two GRUB modules read from the host (the block, grub.cfg, the device stack
  holding the block) and the entry that boots a given kernel.

Apart from ``host``, nothing here talks to Ansible, runs commands or reads files, so all of it is
unit-tested directly.
The behaviour mirrors GRUB 2.06 (Debian 12) as far as it matters here:

* ``grub-core/lib/envblk.c`` for the environment block (``grub-editenv`` and ``save_env``), and
* ``grub-core/normal/menu.c`` for how ``default`` (``next_entry``/``saved_entry``) picks an entry."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
