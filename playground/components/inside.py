"""The section "See inside the network": the insight views of the page.

The section offers five views (filters, feature maps, test results, the code
that runs, draw to predict) behind a row of buttons. It opens closed: a view is
built the first time it is chosen, and only the view on screen follows the
page (the model, the training run); a hidden view follows nothing and so does
no work at all, and catches up when it is shown again. So the page trains as
fast with the section as without it until the learner opens a view.

Every view is an :class:`InsightView` over one :class:`InsightContext`: the
state, the training controller, the model to show (the learner's own, trained
or not) and the learner's drawing. A view refreshes when what it shows changes
(an edit, a new dataset or seed, Reset weights, the end of a run); what it
does while training runs is its own choice (the filters and the feature maps
redraw in at most ``LIVE_SHARE`` of the time, through
:class:`playground.insight.throttle.Throttle`).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable

import panel as pn
import param
from panel.viewable import Viewer

from playground.components import htmlwidgets  # noqa: F401 - defined before the first document
from playground.components.text import esc
from playground.insight.throttle import Throttle
from playground.state import PlaygroundState
from playground.training import TEST_LIMIT, TrainingController, failure_text

__all__ = ["LIVE_INTERVAL", "LIVE_SHARE", "VIEWS", "InsightContext", "InsightView", "SeeInside"]

#: The share of the training time a view on screen may spend redrawing while the network
#: learns, and the shortest time between two redraws (four a second look live). The
#: promise to the learner is that watching slows training by at most 10 %; the throttle
#: sees only the redraw itself, not what follows from it (the patch sent to the page, the
#: garbage it leaves), so it is given half of that.
#: ``benchmarks/bench_insight_views.py`` measures the whole cost in the page.
LIVE_SHARE = 0.05
LIVE_INTERVAL = 0.25

#: key -> (button label, "module:class"); imported when first chosen
VIEWS = {
    "filters": ("Filters", "playground.components.filters:FilterView"),
    "featuremaps": ("Feature maps", "playground.components.featuremaps:FeatureMapView"),
    "results": ("Test results", "playground.components.results:ResultsView"),
    "code": ("Read the code", "playground.components.code:CodeView"),
    "draw": ("Draw to predict", "playground.components.draw:DrawView"),
}


_NOTICE_CSS = """
.cp-view-problem-text { color: #8a1c1c; background: #fde8e8; border: 1px solid #d9a0a0;
  border-radius: 4px; padding: 6px 10px; margin: 4px 0; }
"""


class InsightContext(param.Parameterized):
    """What the insight views share: which model and data to show, and the drawing."""

    drawing = param.Dict(
        default=None, allow_None=True, doc="The learner's drawing: {width, height, strokes}"
    )

    def __init__(self, state: PlaygroundState, controller: TrainingController, **params):
        super().__init__(**params)
        self.state = state
        self.controller = controller

    def model(self):
        """The model of the current layers (its random starting weights if not trained
        yet), or None when the layers do not make a model."""
        return self.controller.model_or_none()

    def trained_model(self):
        """The model of the current layers once training has changed it, else None."""
        return self.controller.trained_model()

    @property
    def dataset(self) -> str:
        return self.state.dataset

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.state.info.class_names)

    async def test_set(self):
        """``(x_test, y_test)`` of the dataset: the images the test accuracy is measured on."""
        from playground.data import get_dataset

        _train, (x, y), _names = await get_dataset(self.state.dataset)
        return x[:TEST_LIMIT], y[:TEST_LIMIT]


class InsightView(Viewer):
    """Base of the insight views: refreshes when what it shows changes, only while shown.

    A subclass implements :meth:`refresh` (plain or ``async``) and lays itself out
    in ``__panel__``. ``active`` is True while the view is on screen. Only then does
    it watch the page (:meth:`follows`, and the training run's events if ``LIVE``):
    a hidden view is called by nothing, and is refreshed when it is shown again.
    """

    context = param.ClassSelector(class_=InsightContext)
    active = param.Boolean(default=False, doc="On screen: keep up to date")

    #: the state's and the controller's parameters what the view shows depends on
    #: (by default: the model, its weights and whether training runs)
    STATE_PARAMS: tuple[str, ...] = ("layers", "dataset", "seed")
    CONTROLLER_PARAMS: tuple[str, ...] = ("session", "running")
    #: redraw (:meth:`draw_live`) while training runs, in at most ``LIVE_SHARE`` of the
    #: time; False: only when the run ends
    LIVE = False

    def __init__(self, **params):
        super().__init__(**params)
        self._stale = True
        self._pending = False
        self._building = False
        self._watchers: list[tuple[param.Parameterized, param.parameterized.Watcher]] = []
        self.param.watch(self._on_active, "active")
        self.throttle = Throttle(LIVE_SHARE, LIVE_INTERVAL)
        self._live = True  # no live redraw after one failed, until the next refresh
        #: says so when the view itself fails (put it at the top of the layout)
        self.notice = pn.pane.HTML(
            "",
            sizing_mode="stretch_width",
            stylesheets=[_NOTICE_CSS],
            css_classes=["cp-view-problem"],
        )

    def follows(self) -> list[tuple[param.Parameterized, tuple[str, ...], Callable]]:
        """What the view watches while it is on screen: ``(object, parameters, callback)``."""
        return [
            (self.state, self.STATE_PARAMS, self.changed),
            (self.controller, self.CONTROLLER_PARAMS, self.changed),
        ]

    def _on_active(self, event) -> None:
        if event.new:
            for obj, names, callback in self.follows():
                if names:
                    self._watchers.append((obj, obj.param.watch(callback, list(names))))
            if self.LIVE:
                self.controller.listeners.append(self._on_train_event)
            self._stale = True  # whatever changed while it was hidden
            self._schedule()
        else:
            for obj, watcher in self._watchers:
                obj.param.unwatch(watcher)
            self._watchers = []
            if self._on_train_event in self.controller.listeners:
                self.controller.listeners.remove(self._on_train_event)

    @property
    def state(self) -> PlaygroundState:
        return self.context.state

    @property
    def controller(self) -> TrainingController:
        return self.context.controller

    def model(self):
        """The model to show (see :meth:`InsightContext.model`)."""
        self._building = True  # a model built for this view is no news to it
        try:
            return self.context.model()
        finally:
            self._building = False

    def changed(self, *_events) -> None:
        """Something the view shows may have changed: refresh it when it is on screen."""
        if self._building:
            return
        self._stale = True
        self._schedule()

    def _schedule(self) -> None:
        """Refresh soon: once for a burst of changes, and after the change that caused
        it has reached the page (the summary table first, then the pictures)."""
        if self.active and self._stale and not self._pending:
            self._pending = True
            pn.state.execute(self._refresh_soon)

    async def _refresh_soon(self) -> None:
        await asyncio.sleep(0)
        self._pending = False
        if self.active and self._stale:
            self._stale = False
            self.throttle.reset()  # another model or layer: its first redraw is due at once
            self._live = True
            self.notice.object = ""
            try:
                result = self.refresh()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # noqa: BLE001 - a view never takes the page down
                self.failed(exc)

    def guarded(self, action) -> None:
        """Run ``action`` (a synchronous redraw); a failure is shown, not raised."""
        try:
            self.notice.object = ""
            action()
        except Exception as exc:  # noqa: BLE001 - a view never takes the page down
            self.failed(exc)

    def failed(self, exc: BaseException) -> None:
        """Say that this view failed; nothing else is touched."""
        self.notice.object = (
            '<div class="cp-view-problem-text" role="alert">This view could not be shown: '
            f"{esc(failure_text(exc))} Your model, its weights and the training are not "
            "affected.</div>"
        )

    def refresh(self):
        """Show what there is to show now (may be ``async``)."""
        raise NotImplementedError

    def draw_live(self) -> None:
        """Redraw during training (views with ``LIVE``): quick, synchronous."""
        raise NotImplementedError

    def _on_train_event(self, _event) -> None:
        """A training step: redraw if that keeps the redraws within their share of time.
        A failure is shown in the view and never reaches the training run."""
        if self._live and self.throttle.due():
            try:
                self.throttle.run(self.draw_live)
            except Exception as exc:  # noqa: BLE001 - training goes on
                self._live = False
                self.failed(exc)


class SeeInside(Viewer):
    """The section: a button per view, the chosen view below, and a button to close it."""

    state = param.ClassSelector(class_=PlaygroundState)
    controller = param.ClassSelector(class_=TrainingController)
    view = param.Selector(
        default=None, objects=list(VIEWS), allow_None=True, doc="The view on screen (None: none)"
    )

    def __init__(self, **params):
        super().__init__(**params)
        self.context = InsightContext(self.state, self.controller)
        self.views: dict[str, InsightView] = {}
        self._choice = pn.widgets.RadioButtonGroup.from_param(
            self.param.view,
            name="Which view",
            description=None,
            options={label: key for key, (label, _) in VIEWS.items()},
            button_type="primary",
            button_style="outline",
            css_classes=["cp-inside-choice"],
            sizing_mode="stretch_width",
            max_width=720,
            # five buttons do not fit a phone's width in one row: let them wrap
            stylesheets=[".bk-btn-group { flex-wrap: wrap; row-gap: 4px; }"],
        )
        self._choice.value = self.view  # Panel presses the first button when given None
        self._close = pn.widgets.Button(
            name="Close the view", button_type="default", css_classes=["cp-inside-close"], width=160
        )
        self._close.on_click(lambda _event: setattr(self, "view", None))
        self._closed = pn.pane.HTML(
            '<p class="cp-inside-closed" style="margin:0 10px">Choose a view above. Until you '
            "do, nothing here runs, so training keeps its full speed.</p>",
            sizing_mode="stretch_width",
        )
        self._body = pn.Column(
            sizing_mode="stretch_width",
            css_classes=["cp-inside-body"],
        )
        self._show()

    @param.depends("view", watch=True)
    def _show(self) -> None:
        for key, view in self.views.items():
            view.active = key == self.view  # a hidden view stops following the page
        self._body.objects = [self._close, self.open(self.view)] if self.view else [self._closed]

    def open(self, key: str) -> InsightView:
        """The view ``key``, built on first use, and made active."""
        if key not in self.views:
            module, name = VIEWS[key][1].split(":")
            cls = getattr(importlib.import_module(module), name)
            self.views[key] = cls(context=self.context)
        view = self.views[key]
        view.active = key == self.view
        return view

    def __panel__(self):
        return pn.Column(
            pn.pane.HTML(
                "<p style='margin:0 0 6px 0'>What the network "
                "has learnt and where it goes wrong: its filters, what each layer makes of an "
                "image, its mistakes on the test images, the code that runs, and your own "
                "drawings.</p>",
                sizing_mode="stretch_width",
                margin=(0, 10),
            ),
            self._choice,
            self._body,
            sizing_mode="stretch_width",
            css_classes=["cp-inside"],
        )
