#!/usr/bin/env bash
# Installs what is missing, builds the workbench (Release, build/) and starts it.
# Extra arguments pass through to llm-workbench.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
lw_install_missing
lw_configure
lw_build llm-workbench llmwb
"$LW_ROOT/packaging/sample_project.sh" "$LW_BUILD/bin/llmwb"
exec "$LW_BUILD/bin/llm-workbench" "$@"
