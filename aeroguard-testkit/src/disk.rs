//! A small disk a test can fill: a tmpfs of a given size, mounted on a fresh folder and unmounted when dropped
//! (mounting needs root, as `scripts/test` runs), lazily, so files still open do not keep it mounted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a given size, unmounted (and its folder removed) when dropped.
#[derive(Debug)]
pub struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it: `2m`) on a fresh folder named after `name`.
    ///
    /// # Panics
    /// When not run as root, or when the mount fails: a test that needs a full disk cannot run without one.
    pub fn mount(name: &str, size: &str) -> SmallDisk {
        let uid = Command::new("id").arg("-u").output().expect("id runs");
        assert_eq!(
            String::from_utf8_lossy(&uid.stdout).trim(),
            "0",
            "this test mounts a small tmpfs to fill it, which needs root (scripts/test runs as root)"
        );
        let dir = std::env::temp_dir().join(format!("aeroguard-disk-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder to mount on");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mount a {size} tmpfs on {}", dir.display());
        SmallDisk(dir)
    }

    /// The folder the disk is mounted on.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// A path on the disk.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Takes every byte left on the disk with file `name`; removing that file gives the space back.
    pub fn fill(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        let mut f = std::fs::File::create(&path).expect("the filler file");
        let block = vec![7u8; 64 << 10];
        while f.write_all(&block).is_ok() {}
        let small = [7u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    /// Unmounts lazily: a file the test's tasks still hold open (an outbox a forwarder has not let go of yet)
    /// would make a plain unmount fail and leave the disk mounted.
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}
