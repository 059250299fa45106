/// Damages valid bytes the ways disks and hostile clients do, from a seeded generator, for
/// the decoders' fuzz tests: a failing input is replayed from its seed and iteration.
public enum ByteMutator {
    /// `valid` with one kind of damage: flipped bytes, a cut tail, a 32- or 64-bit field
    /// set to an edge value, a random run, zeros to the end, a 10-byte varint (a length
    /// ≥ 2^63) spliced in, or garbage of any length.
    public static func mutate(_ valid: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var bytes = valid
        switch Int.random(in: 0..<7, using: &random) {
        case 0:
            for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            }
        case 1:
            bytes.removeLast(Int.random(in: 0...bytes.count, using: &random))
        case 2:
            let edges: [UInt64] = [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 50, 0x7FFF_FFFF_FFFF_FFFF, .max]
            let value = edges.randomElement(using: &random)!
            let width = Bool.random(using: &random) ? 4 : 8
            if bytes.count >= width {
                let at = Int.random(in: 0...(bytes.count - width), using: &random)
                for k in 0..<width { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
            }
        case 3:
            if !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                for k in at..<min(bytes.count, at + Int.random(in: 1...64, using: &random)) { bytes[k] = UInt8.random(in: 0...255, using: &random) }
            }
        case 4:
            if !bytes.isEmpty { let at = Int.random(in: 0..<bytes.count, using: &random); for k in at..<bytes.count { bytes[k] = 0 } }
        case 5:
            bytes.insert(contentsOf: [UInt8](repeating: 0xFF, count: 9) + [0x01], at: Int.random(in: 0...bytes.count, using: &random))
        default:
            bytes = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        return bytes
    }
}
