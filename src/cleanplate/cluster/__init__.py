"""Many videos, or one long one, over a Ray cluster.

- :func:`remove_many` runs each ``(video, mask, output)`` job through :func:`cleanplate.remove` as
  a Ray task and returns one :class:`JobResult` per job; one job's failure does not stop the others.
- :func:`remove_long` splits one long video into overlapping segments, runs each as a Ray task,
  and stitches them back in order with a crossfade across each overlap.

Ray is optional (``pip install 'cleanplate[cluster]'``) and imported only when a run asks for it;
with ``ray_address=None`` both run in this process, one task after the other. How to run on a real
cluster: ``docs/cluster.md``.
"""

from .batch import remove_many
from .jobs import Job, JobResult, jobs_from_folders, read_manifest
from .long import SegmentFailed, remove_long
from .ray_runner import RayUnavailable
from .segments import Segment, plan_segments, stitch

__all__ = ["remove_many", "remove_long", "Job", "JobResult", "read_manifest", "jobs_from_folders",
           "RayUnavailable", "SegmentFailed", "Segment", "plan_segments", "stitch"]
