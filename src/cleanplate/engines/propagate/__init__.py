"""``propagate``: flow-guided video completion on the CPU, without learned weights.

A classical counterpart of ProPainter (Zhou et al., ICCV 2023) and FGVC (Gao et al., ECCV 2020):

1. optical flow between consecutive frames at a working size (:mod:`.flow`, DIS);
2. flow completion inside the hole from the background's motion (:mod:`.flow_completion`);
3. each hole pixel traced along the completed flow, back and forward in time, to the frames where
   its spot is visible, as sub-pixel source coordinates (:mod:`.propagation`); far frames aligned
   by chained homographies where no chain arrives;
4. sources sampled once from real frames and blended by temporal distance (:mod:`.compose`);
5. spots never visible inpainted once on a reference frame and carried along the flow
   (:mod:`.spatial`);
6. all of it in overlapping windows whose finished frames seed the next (:mod:`.window`,
   :mod:`.engine`).

See docs/propagate.md for the algorithm and its limits.
"""

from .config import PropagateConfig
from .engine import PropagateEngine, propagate_frames

__all__ = ["PropagateConfig", "PropagateEngine", "propagate_frames"]
