"""``edunn.utils.model_zoo``: the old home of :func:`edunn.hub.load_state_dict_from_url`,
kept under its old name ``load_url`` as in ``torch.utils.model_zoo``."""
from ..hub import load_state_dict_from_url as load_url, tqdm

__all__ = ["load_url", "tqdm"]
