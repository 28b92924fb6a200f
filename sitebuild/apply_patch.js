// ---- Apply each patch from the page immediately, in order (see sitebuild/page.py: PANEL_PATCH_HANDLER)
let cpPatchApplier = null;
function cpApplyPatch(patch) {
  if (cpPatchApplier === null) {
    cpPatchApplier = self.pyodide.runPython(`
def _cp_apply_patch(patch):
    from panel.io.pyodide import _convert_json_patch
    from panel.io.state import state
    state.curdoc.apply_json_patch(_convert_json_patch(patch), setter='js')
_cp_apply_patch
`);
  }
  cpPatchApplier(patch);
}
