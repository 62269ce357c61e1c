"""``edunn.compiler.config`` (``torch.compiler.config``): the compiler's user-facing settings,
with PyTorch's names and defaults.  edunn has no compiler, so nothing reads them; they exist so
that scripts that set them (``torch.compiler.config.recompile_limit = 16``) run unchanged."""
from __future__ import annotations

accumulated_recompile_limit: int = 256
allow_unspec_int_on_nn_module: bool = False
assume_static_by_default: bool = True
automatic_dynamic_shapes: bool = True
cache_key_tag: str = ""
capture_dynamic_output_shape_ops: bool = False
capture_scalar_outputs: bool = False
dynamic_shapes: bool = True
dynamic_sources: str = ""
dynamic_values: str = ""
enable_cpp_symbolic_shape_guards: bool = False
fail_on_recompile_limit_hit: bool = False
force_cudagraph_gc: bool = False
force_disable_caches: bool = False
job_id: str | None = None
log_file_name: str | None = None
pgo_extra_read_key: str | None = None
pgo_extra_write_key: str | None = None
recompile_limit: int = 8
reorderable_logging_functions: set = set()
skip_tensor_guards_with_matching_dict_tags: bool = True
unbacked_sources: str = ""
verbose: bool = False
wrap_top_frame: bool = False
