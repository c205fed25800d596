//! File handling shared by every shared-memory segment kind (broadcast ring, strategy
//! segments): build a file under a temporary name with an exact mode (and optional group),
//! size and map it with pre-faulted pages, then rename it into place so that nobody ever maps
//! a half-initialised file; plus the `/proc` liveness check for the pids stored in headers.

use super::broadcast::ShmError;
use memmap2::{MmapOptions, MmapRaw};
use std::fs::{self, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub(crate) fn io_err<'p>(
    path: &'p Path,
    op: &'static str,
) -> impl FnOnce(io::Error) -> ShmError + 'p {
    move |source| ShmError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// Whether `pid` names a live process, by `/proc/<pid>`; `None` where `/proc` is absent. A pid
/// from another pid namespace (container) reads as dead; a recycled pid reads as alive; a
/// zombie (exited, not yet reaped by its parent) reads as alive.
pub(crate) fn pid_alive(pid: u64) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(pid != 0 && Path::new("/proc").join(pid.to_string()).exists())
}

/// A file being built under a temporary name next to its final path.
pub(crate) struct NewFile {
    pub(crate) tmp: PathBuf,
    pub(crate) raw: MmapRaw,
}

/// Creates `.NAME.PID.tmp` next to `path` with exactly `mode` (not filtered by the umask),
/// owned by group `gid` if given, `len` bytes long (zero-filled), mapped read-write with the
/// pages pre-faulted. The temporary file is removed again on any error.
pub(crate) fn create_temp(
    path: &Path,
    mode: u32,
    gid: Option<u32>,
    len: u64,
) -> Result<NewFile, ShmError> {
    if mode & !0o777 != 0 {
        return Err(ShmError::BadMode {
            path: path.to_path_buf(),
            mode,
        });
    }
    let name = path.file_name().ok_or_else(|| ShmError::Io {
        path: path.to_path_buf(),
        op: "file name",
        source: io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"),
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(io_err(&tmp, "remove stale temporary")(e))
        }
        _ => {}
    }
    match build(&tmp, mode, gid, len) {
        Ok(raw) => Ok(NewFile { tmp, raw }),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn build(tmp: &Path, mode: u32, gid: Option<u32>, len: u64) -> Result<MmapRaw, ShmError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)
        .map_err(io_err(tmp, "create"))?;
    if let Some(gid) = gid {
        std::os::unix::fs::fchown(&file, None, Some(gid)).map_err(io_err(tmp, "chown group"))?;
    }
    // The umask may have cleared bits of `mode` (and chown may clear set-id bits); set it exactly.
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(io_err(tmp, "chmod"))?;
    file.set_len(len).map_err(io_err(tmp, "set_len"))?;
    MmapOptions::new()
        .populate()
        .map_raw(&file)
        .map_err(io_err(tmp, "mmap"))
}

impl NewFile {
    /// Renames the temporary file to `path` (atomically replacing any file there) and returns
    /// the mapping; on failure the temporary file is removed.
    pub(crate) fn install(self, path: &Path) -> Result<MmapRaw, ShmError> {
        if let Err(e) = fs::rename(&self.tmp, path) {
            let _ = fs::remove_file(&self.tmp);
            return Err(io_err(path, "rename into place")(e));
        }
        Ok(self.raw)
    }

    /// Removes the temporary file (the mapping is dropped).
    pub(crate) fn discard(self) {
        let _ = fs::remove_file(&self.tmp);
    }
}
