//! Where the commands write, and how, so that a user's files are never lost:
//!
//! - [`check`], before any work: an output that is one of the command's inputs (the same
//!   file, whatever the names or links), two outputs that are the same file, and an output
//!   that exists but is not a regular file (a device, a FIFO, a directory) are refused,
//!   naming both paths.
//! - [`write_all_atomically`]: every file of a run or none. Each is written to a temporary
//!   file beside its target and renamed over it only when all are written, so no target is
//!   ever half-written. A symbolic link given as an output stays a link: the file it points
//!   to is replaced. A new file gets a new file's permissions (0666 less the umask), a
//!   replaced one keeps its mode. Runs writing into the same directory take turns (an
//!   advisory lock on the directory while they write), so the files of one run are never
//!   mixed with another's; a temporary file left by a killed run is removed by the next run
//!   writing the same output.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Links followed at most from an output to the file it names (as the kernel's limit).
const MAX_LINKS: usize = 40;

/// The file a write to `path` replaces: `path`, or for a symbolic link the file it points to,
/// link after link (the target need not exist yet).
///
/// # Errors
/// [`Error::Write`] if a link cannot be read or the chain is longer than 40 links.
pub fn write_target(path: &Path) -> Result<PathBuf, Error> {
    let mut target = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&target).map_err(|e| write_error(path, &e.to_string()))?;
                target = match target.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(target),
        }
    }
    Err(write_error(path, "too many levels of symbolic links"))
}

/// Refuses, before any work is done, outputs that would destroy something: an output that
/// is the same file as an input, two outputs that are the same file, an output that exists
/// and is not a regular file.
///
/// # Errors
/// [`Error::Config`] naming the paths involved.
pub fn check(inputs: &[&Path], outputs: &[&Path]) -> Result<(), Error> {
    let mut seen: Vec<(&Path, PathBuf)> = Vec::with_capacity(outputs.len());
    for &output in outputs {
        if let Ok(meta) = fs::metadata(output)
            && !meta.is_file()
        {
            return Err(Error::Config(format!(
                "{} is {}, not a regular file: host-trainer writes only regular files (give a file name)",
                output.display(),
                kind_of(&meta)
            )));
        }
        let target = write_target(output)?;
        if let Some(&input) = inputs.iter().find(|input| same_file(input, &target)) {
            return Err(Error::Config(format!(
                "the output {} is the input {}: writing it would destroy the input (choose another output name)",
                output.display(),
                input.display()
            )));
        }
        let identity = identity(&target);
        if let Some((other, _)) = seen
            .iter()
            .find(|(_, other)| *other == identity || same_file(other, &target))
        {
            return Err(Error::Config(format!(
                "the outputs {} and {} are the same file: one would replace the other (give them different names)",
                other.display(),
                output.display()
            )));
        }
        seen.push((output, identity));
    }
    Ok(())
}

/// Writes every file or none (see the module's description): temporary files beside the
/// targets, renamed over them once all are written, under a lock on each target directory.
///
/// # Errors
/// [`Error::Write`] naming the file; targets are then untouched (but for a rename failing
/// part-way, which leaves each target either old or new, never partial), and no temporary
/// file is left.
pub fn write_all_atomically(files: &[(PathBuf, Vec<u8>)]) -> Result<(), Error> {
    let mut targets = Vec::with_capacity(files.len());
    for (path, _) in files {
        targets.push(write_target(path)?);
    }
    let _locks = lock_directories(&targets)?;
    let mut staged = Staged(Vec::with_capacity(files.len()));
    for ((path, bytes), target) in files.iter().zip(&targets) {
        let temp = temp_path(target);
        let failed = |e: std::io::Error| write_error(path, &e.to_string());
        // A temporary file of a run that was killed: the lock says nobody is writing it.
        match fs::remove_file(&temp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(failed(e)),
            _ => {}
        }
        // Created as any new file is (mode 0666 less the umask).
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(failed)?;
        staged.0.push(temp.clone());
        file.write_all(bytes).map_err(failed)?;
        if let Ok(existing) = fs::metadata(target) {
            file.set_permissions(existing.permissions()).map_err(failed)?;
        }
        file.sync_all().map_err(failed)?;
    }
    for ((path, _), (temp, target)) in files.iter().zip(staged.0.iter().zip(&targets)) {
        fs::rename(temp, target).map_err(|e| write_error(path, &e.to_string()))?;
    }
    staged.0.clear();
    Ok(())
}

/// Temporary files not yet renamed: removed if the write stops part-way.
struct Staged(Vec<PathBuf>);

impl Drop for Staged {
    fn drop(&mut self) {
        for temp in &self.0 {
            let _ = fs::remove_file(temp);
        }
    }
}

/// `.NAME.host-trainer.tmp` beside `target`: one name per target, so that a run reuses (and
/// so removes) what a killed run left.
fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.host-trainer.tmp"))
}

/// The directory `target` is written in.
fn directory_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// An exclusive advisory lock on each directory the targets are in, taken in a fixed order
/// (so that two runs cannot each hold one the other waits for) and held while the files
/// are written and renamed.
fn lock_directories(targets: &[PathBuf]) -> Result<Vec<File>, Error> {
    let mut dirs: Vec<PathBuf> = targets.iter().map(|t| identity(&directory_of(t))).collect();
    dirs.sort();
    dirs.dedup();
    let mut locks = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let failed = |e: std::io::Error| write_error(&dir, &format!("cannot lock the directory: {e}"));
        let handle = File::open(&dir).map_err(failed)?;
        handle.lock().map_err(failed)?;
        locks.push(handle);
    }
    Ok(locks)
}

/// The same file: both exist and are one inode (whatever the names and links).
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(a), Ok(b)) => {
            use std::os::unix::fs::MetadataExt;
            a.dev() == b.dev() && a.ino() == b.ino()
        }
        #[cfg(not(unix))]
        (Ok(_), Ok(_)) => fs::canonicalize(a).ok() == fs::canonicalize(b).ok(),
        _ => false,
    }
}

/// A path that names `path`'s file however it was spelled: its directory made canonical
/// (absolute, links resolved), then its name.
fn identity(path: &Path) -> PathBuf {
    let dir = directory_of(path);
    let dir = fs::canonicalize(&dir).unwrap_or(dir);
    match path.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    }
}

/// What kind of file `meta` describes, for a message.
fn kind_of(meta: &fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_fifo() {
            return "a FIFO (pipe)";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

fn write_error(file: &Path, message: &str) -> Error {
    Error::Write {
        file: file.to_path_buf(),
        message: message.to_owned(),
    }
}
