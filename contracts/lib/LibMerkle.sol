// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title LibMerkle
/// @notice Positional binary keccak256 Merkle trees over 32-byte leaves, the same rules as core/merkle.ts.
/// @dev Rules (kept together by test/merkle.differential.test.ts):
///  - a leaf is a raw 32-byte word and is not hashed again before entering the tree;
///  - an inner node is keccak256(left ‖ right), the order of the children is kept;
///  - the leaves are padded with zero words up to a power of two; a one-leaf tree has that leaf as
///    its root and depth 0;
///  - a proof lists the siblings from the leaf upward; bit h of the index is set when the node at
///    height h is a right child;
///  - a verifier knows the depth and rejects a proof of any other length or an index >= 2^depth.
library LibMerkle {
    /// @notice A tree needs at least one leaf.
    error LibMerkleEmptyTree();

    /// @notice The root that `leaf` at position `index` hashes up to with the siblings `proof`.
    /// @dev Bits of `index` above `proof.length` are ignored; {verify} checks the range.
    /// @param leaf The 32-byte leaf.
    /// @param index The leaf's position; bit h says the node at height h is a right child.
    /// @param proof The siblings from the leaf upward.
    /// @return node The root of the path.
    function computeRoot(bytes32 leaf, uint256 index, bytes32[] calldata proof) internal pure returns (bytes32 node) {
        assembly ("memory-safe") {
            node := leaf
            let p := proof.offset
            for { let end := add(p, shl(5, proof.length)) } lt(p, end) { p := add(p, 0x20) } {
                // Right child (bit set): node goes to 0x20 and the sibling to 0x00; left child: the reverse.
                let at := shl(5, and(index, 1))
                mstore(at, node)
                mstore(xor(at, 0x20), calldataload(p))
                node := keccak256(0x00, 0x40)
                index := shr(1, index)
            }
        }
    }

    /// @notice Whether `proof` opens `leaf` at `index` in a tree of `depth` whose root is `root`.
    /// @dev False for a proof of any length but `depth` and for an index >= 2^depth.
    /// @param root The committed root.
    /// @param leaf The 32-byte leaf.
    /// @param index The leaf's position.
    /// @param proof The siblings from the leaf upward.
    /// @param depth The depth of the committed tree, known to the verifier.
    /// @return True when the opening is valid.
    function verify(bytes32 root, bytes32 leaf, uint256 index, bytes32[] calldata proof, uint256 depth)
        internal
        pure
        returns (bool)
    {
        return proof.length == depth && index >> depth == 0 && computeRoot(leaf, index, proof) == root;
    }

    /// @notice Whether the root `next` is the root `prev` with leaf `index` set to `leaf`, where `prev`
    ///         holds a zero word there: the prefix-root step of docs/commitments.md §5 (a trace's root
    ///         with the values after `index` zero, extended by one value).
    /// @dev The two trees differ only in leaf `index`, so the same siblings open both. False for a proof
    ///      of any length but `depth` and for an index >= 2^depth. core/prefixTree.ts has the twin.
    /// @param prev The root before: leaf `index` is zero.
    /// @param next The root after: leaf `index` is `leaf`.
    /// @param leaf The 32-byte word set at `index`.
    /// @param index The leaf's position.
    /// @param proof The siblings from the leaf upward, the same under both roots.
    /// @param depth The depth of both trees, known to the verifier.
    /// @return True when `next` extends `prev` by `leaf` at `index`.
    function verifyExtension(bytes32 prev, bytes32 next, bytes32 leaf, uint256 index, bytes32[] calldata proof, uint256 depth)
        internal
        pure
        returns (bool)
    {
        return verify(prev, bytes32(0), index, proof, depth) && computeRoot(leaf, index, proof) == next;
    }

    /// @notice Words of one page of a paged tree (core/pagedTree.ts): its bottom levels hashed as one message.
    uint256 internal constant PAGE_WORDS = 8;
    /// @notice Levels a page spans: log2(PAGE_WORDS).
    uint256 internal constant PAGE_LEVELS = 3;

    /// @notice Whether `proof` opens the word `word` at `index` in a paged tree of `depth` word levels whose root is
    ///         `root` (core/pagedTree.ts: pages of 8 words hashed as 256 bytes, a binary tree over the pages).
    /// @dev False for a depth under PAGE_LEVELS, a proof of any length but 7 + depth − PAGE_LEVELS, or an index
    ///      >= 2^depth.
    /// @param root The committed root.
    /// @param word The 32-byte word.
    /// @param index The word's position.
    /// @param proof The page's other 7 words in order, then the page's siblings from the page upward.
    /// @param depth The depth of the committed tree in word levels, known to the verifier ({pagedDepthFor}).
    /// @return True when the opening is valid.
    function verifyPaged(bytes32 root, bytes32 word, uint256 index, bytes32[] calldata proof, uint256 depth)
        internal
        pure
        returns (bool)
    {
        if (depth < PAGE_LEVELS || proof.length != PAGE_WORDS - 1 + depth - PAGE_LEVELS || index >> depth != 0) {
            return false;
        }
        bytes32 page;
        assembly ("memory-safe") {
            // The page in scratch memory past the free pointer: the other words in order, `word` at its slot.
            let buffer := mload(0x40)
            let slot := and(index, 7)
            let p := proof.offset
            for { let k := 0 } lt(k, 8) { k := add(k, 1) } {
                switch eq(k, slot)
                case 1 { mstore(add(buffer, shl(5, k)), word) }
                default {
                    mstore(add(buffer, shl(5, k)), calldataload(p))
                    p := add(p, 0x20)
                }
            }
            page := keccak256(buffer, 0x100)
        }
        return computeRoot(page, index >> PAGE_LEVELS, proof[PAGE_WORDS - 1:]) == root;
    }

    /// @notice Depth in word levels of the paged tree of `words` words: PAGE_LEVELS + the depth of its page tree.
    /// @param words The number of words, at least one.
    /// @return The depth.
    function pagedDepthFor(uint256 words) internal pure returns (uint256) {
        return PAGE_LEVELS + depthFor((words + PAGE_WORDS - 1) / PAGE_WORDS);
    }

    /// @notice Depth of a tree of `leafCount` leaves: ceil(log2(leafCount)), 0 for one leaf.
    /// @dev Reverts with {LibMerkleEmptyTree} for zero leaves. Equals the bit length of leafCount - 1.
    /// @param leafCount The number of leaves, at least one.
    /// @return depth The depth of the tree.
    function depthFor(uint256 leafCount) internal pure returns (uint256 depth) {
        if (leafCount == 0) revert LibMerkleEmptyTree();
        assembly ("memory-safe") {
            let x := sub(leafCount, 1)
            // r = floor(log2(x)) for x > 0, by binary search.
            let r := shl(7, lt(0xffffffffffffffffffffffffffffffff, x))
            r := or(r, shl(6, lt(0xffffffffffffffff, shr(r, x))))
            r := or(r, shl(5, lt(0xffffffff, shr(r, x))))
            r := or(r, shl(4, lt(0xffff, shr(r, x))))
            r := or(r, shl(3, lt(0xff, shr(r, x))))
            r := or(r, shl(2, lt(0xf, shr(r, x))))
            r := or(r, shl(1, lt(0x3, shr(r, x))))
            r := or(r, lt(0x1, shr(r, x)))
            depth := add(r, iszero(iszero(x)))
        }
    }

    /// @notice The root of `data` cut into 32-byte leaves in order.
    /// @dev Leaf k is data[32k : 32k + 32], the last one zero-padded on the right; empty data gives one
    ///      zero leaf (root 0). The leaves are then padded with zero words up to a power of two.
    ///      Works in memory past the free memory pointer, which it leaves unchanged.
    /// @param data The bytes to commit to.
    /// @return root The Merkle root.
    function rootOfBytes(bytes calldata data) internal pure returns (bytes32 root) {
        uint256 buffer;
        uint256 count;
        assembly ("memory-safe") {
            buffer := mload(0x40)
            let length := data.length
            calldatacopy(buffer, data.offset, length)
            // Zero the tail of the last leaf (memory past the free pointer may be dirty).
            mstore(add(buffer, length), 0)
            count := add(shr(5, add(length, 31)), iszero(length))
        }
        root = _rootInPlace(buffer, count);
    }

    /// @notice The root of the 32-byte `leaves`, padded with zero words up to a power of two.
    /// @dev Reverts with {LibMerkleEmptyTree} for no leaves. Leaves `leaves` unchanged: it hashes a copy
    ///      past the free memory pointer, which it leaves unchanged.
    /// @param leaves The leaves, in order.
    /// @return root The Merkle root.
    function rootOfWords(bytes32[] memory leaves) internal pure returns (bytes32 root) {
        uint256 count = leaves.length;
        if (count == 0) revert LibMerkleEmptyTree();
        uint256 buffer;
        assembly ("memory-safe") {
            buffer := mload(0x40)
            mcopy(buffer, add(leaves, 0x20), shl(5, count))
        }
        root = _rootInPlace(buffer, count);
    }

    /// @dev Hashes the `count` (>= 1) words at `buffer` level by level in place and returns the root.
    ///      Writes up to one word past them (the zero-subtree sibling of an odd last node), so `buffer`
    ///      must be scratch memory with room for count + 1 words.
    function _rootInPlace(uint256 buffer, uint256 count) private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let zero := 0 // root of 2^zeroHeight zero leaves
            let zeroHeight := 0
            for { let height := 0 } gt(count, 1) { height := add(height, 1) } {
                if and(count, 1) {
                    // Odd level: the last node's sibling is the root of a zero subtree of this height.
                    for {} lt(zeroHeight, height) { zeroHeight := add(zeroHeight, 1) } {
                        mstore(0x00, zero)
                        mstore(0x20, zero)
                        zero := keccak256(0x00, 0x40)
                    }
                    mstore(add(buffer, shl(5, count)), zero)
                    count := add(count, 1)
                }
                count := shr(1, count)
                // Node i of the level above is the hash of nodes 2i, 2i + 1; writing it at i never
                // overwrites a node not yet read. Four at a time while four remain, then one at a time.
                let from := buffer
                let to := buffer
                for { let end := add(buffer, shl(6, and(count, not(3)))) } lt(from, end) {
                    from := add(from, 0x100)
                    to := add(to, 0x80)
                } {
                    let a := keccak256(from, 0x40)
                    let b := keccak256(add(from, 0x40), 0x40)
                    let c := keccak256(add(from, 0x80), 0x40)
                    mstore(add(to, 0x60), keccak256(add(from, 0xc0), 0x40))
                    mstore(add(to, 0x40), c)
                    mstore(add(to, 0x20), b)
                    mstore(to, a)
                }
                for { let end := add(buffer, shl(6, count)) } lt(from, end) {
                    from := add(from, 0x40)
                    to := add(to, 0x20)
                } { mstore(to, keccak256(from, 0x40)) }
            }
            root := mload(buffer)
        }
    }
}
