"""CML jobs of the automated lifecycle: the spec file, syncing it to a project, and running job chains."""

from cml_mlops.cml.jobs.runs import ChainReport, JobRunError, RunResult, run_job
from cml_mlops.cml.jobs.spec import JOBS_FILE, JobSpec, JobSpecError, JobsSpec, load_jobs_file, parse_jobs
from cml_mlops.cml.jobs.sync import JobSync, JobSyncError, SyncReport, sync_jobs

__all__ = [
    "JOBS_FILE",
    "ChainReport",
    "JobRunError",
    "JobSpec",
    "JobSpecError",
    "JobSync",
    "JobSyncError",
    "JobsSpec",
    "RunResult",
    "SyncReport",
    "load_jobs_file",
    "parse_jobs",
    "run_job",
    "sync_jobs",
]
