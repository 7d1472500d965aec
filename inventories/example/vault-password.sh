#!/bin/sh
# Vault password client for the example inventory: prints the password from the environment
# variable POSCLOUD_VAULT_PASSWORD, so it never sits in a file or in shell history. In AWX, use a
# Vault credential instead.
#
#   export POSCLOUD_VAULT_PASSWORD=...   (from your password manager)
#   ansible-playbook -i inventories/example --vault-password-file inventories/example/vault-password.sh ...
if [ -z "${POSCLOUD_VAULT_PASSWORD:-}" ]; then
  echo "vault-password.sh: set POSCLOUD_VAULT_PASSWORD" >&2
  exit 1
fi
printf '%s\n' "$POSCLOUD_VAULT_PASSWORD"
