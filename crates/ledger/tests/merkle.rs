//! The tree and its proofs against the published RFC 6962 vectors and against each other, for
//! every index and every pair of sizes up to 40, so every shape of the recursion is exercised.

use mash_ledger::{
    Hash, LedgerError, MerkleTree, empty_root, leaf_hash, node_hash, verify_consistency, verify_inclusion,
};

const MAX: u64 = 40;

/// The Certificate Transparency reference leaves (transparency-dev/merkle testonly).
const REFERENCE_LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Their roots for sizes 0..=8. A tree that disagrees would prove nothing to anyone else.
const REFERENCE_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn h(text: &str) -> Hash {
    let mut out = [0; 32];
    hex::decode_to_slice(text, &mut out).expect("test vector is 32 bytes of hex");
    out
}

fn reference_tree() -> MerkleTree {
    MerkleTree::from_leaves(REFERENCE_LEAVES.iter().map(|data| leaf_hash(&hex::decode(data).expect("hex"))))
}

fn leaf(index: u64) -> Hash {
    leaf_hash(format!("entry {index}").as_bytes())
}

fn tree(n: u64) -> MerkleTree {
    MerkleTree::from_leaves((0..n).map(leaf))
}

fn flipped(proof: &[Hash], element: usize, byte: usize) -> Vec<Hash> {
    let mut bad = proof.to_vec();
    bad[element][byte] ^= 0x01;
    bad
}

#[test]
fn roots_match_rfc6962_reference_vectors() {
    let tree = reference_tree();
    assert_eq!(empty_root(), h(REFERENCE_ROOTS[0]));
    assert_eq!(MerkleTree::new().root(), h(REFERENCE_ROOTS[0]));
    assert_eq!(leaf_hash(b""), h(REFERENCE_ROOTS[1]));
    for (size, expected) in REFERENCE_ROOTS.iter().enumerate() {
        assert_eq!(tree.root_at(size as u64), Ok(h(expected)), "size {size}");
    }
    assert_eq!(tree.root(), h(REFERENCE_ROOTS[8]));
}

#[test]
fn proofs_match_reference_vectors() {
    let tree = reference_tree();
    let inclusion: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, expected) in inclusion {
        let expected: Vec<Hash> = expected.iter().map(|e| h(e)).collect();
        assert_eq!(tree.inclusion_proof(index, size), Ok(expected), "inclusion {index} in {size}");
    }
    let consistency: [(u64, u64, &[&str]); 3] = [
        (
            2,
            8,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (old, new, expected) in consistency {
        let expected: Vec<Hash> = expected.iter().map(|e| h(e)).collect();
        assert_eq!(tree.consistency_proof(old, new), Ok(expected), "consistency {old} -> {new}");
    }
}

#[test]
fn node_hash_is_prefixed_concatenation() {
    let (left, right) = (leaf_hash(b""), leaf_hash(&[0x00]));
    assert_eq!(node_hash(&left, &right), h(REFERENCE_ROOTS[2]));
}

#[test]
fn root_at_any_earlier_size_equals_a_tree_of_that_prefix() {
    let mut pushed = MerkleTree::new();
    for n in 1..=MAX {
        pushed.push(leaf(n - 1));
        for k in 0..=n {
            assert_eq!(pushed.root_at(k), Ok(tree(k).root()), "size {k} after pushing {n}");
        }
    }
    assert_eq!(pushed.root(), tree(MAX).root());
}

#[test]
fn every_inclusion_proof_verifies_and_nothing_else_does() {
    let full = tree(MAX);
    let leaves: Vec<Hash> = (0..MAX).map(leaf).collect();
    for size in 1..=MAX {
        let root = full.root_at(size).expect("size within tree");
        for index in 0..size {
            let leaf = &leaves[index as usize];
            let proof = full.inclusion_proof(index, size).expect("index within size");
            assert_eq!(verify_inclusion(leaf, index, size, &proof, &root), Ok(()), "leaf {index} of {size}");
            assert_inclusion_tamper_fails(&full, leaf, index, size, &proof, &root);
        }
    }
}

fn assert_inclusion_tamper_fails(full: &MerkleTree, leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) {
    let case = format!("leaf {index} of {size}");
    for element in 0..proof.len() {
        assert!(
            verify_inclusion(leaf, index, size, &flipped(proof, element, 31), root).is_err(),
            "{case}: flip {element}"
        );
    }
    for other in (0..size).filter(|&other| other != index) {
        assert!(verify_inclusion(leaf, other, size, proof, root).is_err(), "{case}: claimed index {other}");
    }
    // Only (size, root) pairs the log really had: RFC 9162 verification trusts that pairing (it
    // comes from a signed checkpoint), e.g. leaf 0's proof in size 3 also verifies as "size 4"
    // against the size-3 root.
    for other in (index + 1..=MAX).filter(|&other| other != size) {
        let other_root = full.root_at(other).expect("size within tree");
        assert!(verify_inclusion(leaf, index, other, proof, &other_root).is_err(), "{case}: claimed size {other}");
    }
    assert!(verify_inclusion(&leaf_hash(b"forged"), index, size, proof, root).is_err(), "{case}: other leaf");
    let mut longer = proof.to_vec();
    longer.push([0; 32]);
    assert!(verify_inclusion(leaf, index, size, &longer, root).is_err(), "{case}: extended");
    if let Some((_, shorter)) = proof.split_last() {
        assert!(verify_inclusion(leaf, index, size, shorter, root).is_err(), "{case}: truncated");
    }
}

#[test]
fn every_consistency_proof_verifies_and_tampering_fails() {
    let full = tree(MAX);
    let roots: Vec<Hash> = (0..=MAX).map(|n| full.root_at(n).expect("size within tree")).collect();
    for new in 1..=MAX {
        for old in 1..=new {
            let (old_root, new_root) = (&roots[old as usize], &roots[new as usize]);
            let proof = full.consistency_proof(old, new).expect("sizes within tree");
            assert_eq!(verify_consistency(old, new, old_root, new_root, &proof), Ok(()), "{old} -> {new}");
            assert_consistency_tamper_fails(&roots, old, new, &proof);
        }
    }
}

fn assert_consistency_tamper_fails(roots: &[Hash], old: u64, new: u64, proof: &[Hash]) {
    let case = format!("{old} -> {new}");
    let (old_root, new_root) = (&roots[old as usize], &roots[new as usize]);
    for element in 0..proof.len() {
        let bad = flipped(proof, element, 0);
        assert!(verify_consistency(old, new, old_root, new_root, &bad).is_err(), "{case}: flip {element}");
    }
    if old < new {
        let forged_old = leaf_hash(b"forged");
        assert!(verify_consistency(old, new, &forged_old, new_root, proof).is_err(), "{case}: other old root");
        assert!(verify_consistency(old, new, old_root, &forged_old, proof).is_err(), "{case}: other new root");
        assert!(verify_consistency(old, new, old_root, new_root, &proof[1..]).is_err(), "{case}: truncated");
    }
    for other in (1..new).filter(|&other| other != old) {
        let other_root = &roots[other as usize];
        assert!(verify_consistency(other, new, other_root, new_root, proof).is_err(), "{case}: claimed old {other}");
    }
    let mut longer = proof.to_vec();
    longer.push([0; 32]);
    assert!(verify_consistency(old, new, old_root, new_root, &longer).is_err(), "{case}: extended");
}

#[test]
fn degenerate_consistency_cases() {
    let full = tree(8);
    let (root4, root5) = (full.root_at(4).expect("4"), full.root_at(5).expect("5"));
    let cases: [(u64, u64, Hash, Hash, Vec<Hash>, bool); 7] = [
        (4, 4, root4, root4, vec![], true),
        (4, 4, root4, root5, vec![], false),
        (4, 4, root4, root4, vec![root4], false),
        (0, 5, empty_root(), root5, vec![], true),
        (0, 5, root4, root5, vec![], false),
        (0, 5, empty_root(), root5, vec![root4], false),
        (4, 5, root4, root5, vec![], false),
    ];
    for (old, new, old_root, new_root, proof, ok) in cases {
        let result = verify_consistency(old, new, &old_root, &new_root, &proof);
        assert_eq!(result.is_ok(), ok, "{old} -> {new} with {} elements: {result:?}", proof.len());
    }
    assert_eq!(full.consistency_proof(0, 5), Ok(vec![]));
    assert_eq!(full.consistency_proof(5, 5), Ok(vec![]));
    assert_eq!(
        verify_consistency(5, 4, &root5, &root4, &[]),
        Err(LedgerError::SizesReversed { old_size: 5, new_size: 4 })
    );
    assert_eq!(verify_inclusion(&root4, 5, 5, &[], &root5), Err(LedgerError::IndexOutOfRange { index: 5, size: 5 }));
}
