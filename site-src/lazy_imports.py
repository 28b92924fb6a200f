# CNN Playground: stand-ins for modules that are imported at start-up but not used by the
# playground (pandas: Bokeh imports it in many places, but only needs it for DataFrames).
# The real module is imported the first time one of its attributes is used. Run by the
# Pyodide worker (site-src/worker.js) and, before the app's imports, by the build's memory
# snapshot (sitebuild/snapshot.mjs), with `_cp_lazy` set to the module names.
import importlib
import importlib.util
import sys
import types


class _CpLazyModule(types.ModuleType):
    __cp_lazy__ = True  # patched Bokeh checks this: no objects of this module exist yet

    def __getattr__(self, attr):
        return getattr(_cp_load_lazy(self.__name__), attr)


def _cp_load_lazy(name):
    if isinstance(sys.modules.get(name), _CpLazyModule):
        del sys.modules[name]
    return importlib.import_module(name)


for _name in _cp_lazy:  # noqa: F821 (set by the caller)
    _spec = importlib.util.find_spec(_name)
    if _spec is not None and _name not in sys.modules:
        _stub = _CpLazyModule(_name)
        _stub.__spec__ = _spec
        sys.modules[_name] = _stub
sys.modules["__main__"]._cp_load_lazy = _cp_load_lazy
del _cp_lazy  # noqa: F821
