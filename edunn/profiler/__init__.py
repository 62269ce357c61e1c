"""``edunn.profiler``: find where a program spends its time (PyTorch's ``torch.profiler``).

    with edunn.profiler.profile(record_shapes=True, profile_memory=True, with_flops=True) as prof:
        with edunn.profiler.record_function("train_step"):
            model(x).sum().backward()
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
    prof.export_chrome_trace("trace.json")      # open in chrome://tracing or ui.perfetto.dev

Every op passes through ``Function.apply``; the profiler watches it there
(``edunn.autograd.op_hooks``) and times each call.  ``_recorder.py`` says what is recorded and
how, ``_events.py`` holds the results (``FunctionEvent``, ``EventList``), ``_table.py`` prints
them, ``profiler.py`` adds schedules and exports.  ``edunn.autograd.profiler`` is the older
interface to the same recorder.
"""
from ._events import DeviceType
from ._recorder import KinetoStepTracker, record_function
from .profiler import (ExecutionTraceObserver, profile, ProfilerAction, ProfilerActivity, schedule, supported_activities, tensorboard_trace_handler,
                       kineto_available)
from . import itt
from ..autograd import profiler as _legacy  # loaded with this package: edunn.autograd.profiler

__all__ = ["profile", "schedule", "supported_activities", "tensorboard_trace_handler",
           "ProfilerAction", "ProfilerActivity", "kineto_available", "DeviceType",
           "record_function", "ExecutionTraceObserver"]

_loaded = (KinetoStepTracker, itt, _legacy)   # part of the package's namespace, as in PyTorch
