# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-health contract: arm a one-time boot of a new entry, then commit it or roll back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poscloud.fleet.plugins.module_utils.grub.constants import KNOWN_GOOD, NEXT_ENTRY, SAVED_ENTRY, TRIAL_ENTRY, GrubHealthError
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.menu import default_info

#
#   next_entry            GRUB's one-time entry; 00_header boots it once and clears it with
#                         save_env before booting, so any later boot falls back.
#   saved_entry           GRUB's default when grub.cfg has set default="${saved_entry}"
#                         (GRUB_DEFAULT=saved); holds the known-good entry during a trial.
#   poscloud_trial_entry  entry under trial (canonical form); set means a trial is armed.
#   poscloud_known_good   entry to fall back to (canonical form).
#
# arm:      next_entry=X, saved_entry=Y, poscloud_trial_entry=X, poscloud_known_good=Y
# commit:   saved_entry=X, poscloud_trial_entry and poscloud_known_good unset
# rollback: saved_entry=Y, next_entry unset when it still holds X, trial variables unset
#
# There is one attempt: GRUB clears next_entry before the trial boots, so a hang, a panic or a
# reboot without commit lands on the known-good entry. No boot counter is kept because Debian's
# grub.cfg has no code that would read one.


def _fallback_ok(menu, known_node):
    """Can the known-good entry be made GRUB's default from the environment block?"""
    if menu.uses_saved_entry:
        return True
    return menu.boots(menu.default_spec) is known_node


def arm_trial(menu, variables, target, known_good=None):
    """Changes that make the next boot (only) a trial of ``target``, falling back to ``known_good``.

    ``known_good`` defaults to what GRUB boots by default now. Returns a dict with ``changes``
    (``[(name, value or None)]``), ``trial`` and ``known_good`` (canonical values) and ``needed``
    (False when the target already is the known-good default, so there is nothing to try).
    """
    if not menu.consumes_next_entry:
        raise GrubHealthError(
            'grub.cfg does not boot next_entry once (no set default="${next_entry}" followed by '
            'save_env next_entry, as Debian\'s /etc/grub.d/00_header writes); a one-time trial is not possible')
    trial_node = menu.resolve(target)
    trial = menu.canonical(trial_node)
    if known_good is None:
        default, dummy = default_info(menu, variables)
        known_node = menu.boots(default['value'])
        if known_node is None:
            raise GrubHealthError('cannot tell which entry GRUB boots by default; give known_good')
    else:
        known_node = menu.resolve(known_good)
    good = menu.canonical(known_node)
    armed = variables.get(TRIAL_ENTRY)
    if armed and menu.grub_lookup(armed) is not trial_node:
        raise GrubHealthError(
            'a trial of %r is already armed (%s); commit or roll it back before arming %r'
            % (armed, TRIAL_ENTRY, trial))
    if known_node is trial_node:
        return {'changes': [], 'trial': trial, 'known_good': good, 'needed': False}
    if known_node.kernel and known_node.kernel == trial_node.kernel:
        raise GrubHealthError(
            'the known-good entry %r boots the same kernel %s as the trial entry %r, so a fallback would '
            'boot the trial kernel again; give known_good as the entry of the kernel that is known to work '
            '(for example its entry in the Advanced options submenu)' % (good, known_node.kernel, trial))
    if not _fallback_ok(menu, known_node):
        raise GrubHealthError(
            'grub.cfg boots the fixed default %r, which is %r, not the known-good entry %r, and does not '
            'use saved_entry; after the trial GRUB would not fall back to the known-good entry. '
            'Set GRUB_DEFAULT=saved in /etc/default/grub and run update-grub'
            % (menu.default_spec, menu.canonical(menu.boots(menu.default_spec)), good))
    changes = [(NEXT_ENTRY, trial)]
    if menu.uses_saved_entry:
        changes.append((SAVED_ENTRY, good))
    changes += [(TRIAL_ENTRY, trial), (KNOWN_GOOD, good)]
    return {'changes': changes, 'trial': trial, 'known_good': good, 'needed': True}


def trial_state(variables):
    """The trial recorded in the variables: entry, known_good, armed, pending (not yet booted)."""
    trial = variables.get(TRIAL_ENTRY)
    return {
        'entry': trial,
        'known_good': variables.get(KNOWN_GOOD),
        'armed': bool(trial),
        'pending': bool(trial) and variables.get(NEXT_ENTRY) == trial,
    }


def commit_trial(menu, variables, target=None):
    """Changes that make the armed trial entry the default and end the trial.

    Refuses while next_entry still holds the trial entry (the trial has not been booted, or GRUB
    could not clear next_entry). With ``target``, refuses unless it names the armed trial entry.
    Without an armed trial there is nothing to do.
    """
    trial = variables.get(TRIAL_ENTRY)
    if not trial:
        return {'changes': [], 'trial': None, 'committed': None}
    trial_node = menu.grub_lookup(trial)
    if trial_node is None:
        raise GrubHealthError(
            'the armed trial entry %r is no longer in grub.cfg; roll the trial back' % trial)
    if target is not None and menu.resolve(target) is not trial_node:
        raise GrubHealthError(
            'target %r is not the armed trial entry %r; refusing to commit' % (target, trial))
    if variables.get(NEXT_ENTRY) == trial:
        raise GrubHealthError(
            'next_entry still holds the trial entry %r: the trial has not been booted yet (or GRUB '
            'could not clear next_entry at boot). Reboot into the trial first, or roll it back' % trial)
    value = menu.canonical(trial_node)
    changes = []
    if menu.uses_saved_entry:
        changes.append((SAVED_ENTRY, value))
    elif menu.boots(menu.default_spec) is not trial_node:
        raise GrubHealthError(
            'grub.cfg boots the fixed default %r and does not use saved_entry, so %r cannot be made '
            'the default from the environment block. Set GRUB_DEFAULT=saved and run update-grub'
            % (menu.default_spec, value))
    changes += [(TRIAL_ENTRY, None), (KNOWN_GOOD, None)]
    return {'changes': changes, 'trial': trial, 'committed': value}


def rollback_trial(menu, variables):
    """Changes that drop the armed trial and make the known-good entry the default again."""
    trial = variables.get(TRIAL_ENTRY)
    good = variables.get(KNOWN_GOOD)
    if not trial and not good:
        return {'changes': [], 'trial': None, 'known_good': None}
    changes = []
    if trial and variables.get(NEXT_ENTRY) == trial:
        changes.append((NEXT_ENTRY, None))
    if good and menu is not None and menu.uses_saved_entry:
        changes.append((SAVED_ENTRY, good))
    changes += [(TRIAL_ENTRY, None), (KNOWN_GOOD, None)]
    return {'changes': changes, 'trial': trial, 'known_good': good}
