import FoundationEssentials

/// Checks on where data_dir lives.
package enum DataDirectoryCheck {
    /// Whether `path` is on a tmpfs (by the longest mount point in /proc/mounts that holds
    /// it), where checkpoints and the spool would silently vanish at reboot.
    package static func isTmpfs(_ path: String, mounts: String = "/proc/mounts") -> Bool {
        guard let table = try? String(contentsOfFile: mounts, encoding: .utf8) else { return false }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        var best: (mountPoint: String, type: String)?
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let mountPoint = String(fields[1]).replacing("\\040", with: " ")
            let holds = mountPoint == "/" || absolute == mountPoint || absolute.hasPrefix(mountPoint + "/")
            if holds, mountPoint.count >= (best?.mountPoint.count ?? 0) { best = (mountPoint, String(fields[2])) }
        }
        return best?.type == "tmpfs"
    }
}
