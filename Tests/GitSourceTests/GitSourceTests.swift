import Foundation
import MeridianCore
import MeridianManifests
import Testing

@Suite("Git sources")
struct GitSourceTests {
    @Test("reads the manifests of any commit, branch or tag straight from the object database")
    func readsCommits() throws {
        let g = try GitFixture()
        try g.writeFleet(count: 2)
        let first = try g.commit("two jurisdictions")
        try g.git("tag", "v1")
        try g.write("manifests/sub/j9.yml", GitFixture.jurisdiction("j9"))
        try g.write("manifests/README.md", "not a manifest")
        try g.write("other/ignored.yaml", "not: [valid")
        let second = try g.commit("three")
        // An uncommitted file in the working tree is not part of any commit.
        try g.write("manifests/wip.yaml", "broken: [")

        let source = GitSource(repository: g.root.path)
        #expect(try source.resolve("main") == second)
        #expect(try source.resolve("v1") == first)
        #expect(try source.resolve(String(first.prefix(10))) == first)
        #expect(try source.resolve("HEAD~1") == first)

        let head = try source.load(commit: second, path: "manifests")
        #expect(head.isValid, "\(head.diagnostics)")
        #expect(head.state.jurisdictions.count == 3)
        #expect(try source.files(commit: second, path: "manifests").map(\.path) == ["manifests/j0.yaml", "manifests/j1.yaml", "manifests/sub/j9.yml"])
        #expect(try source.load(commit: first, path: "manifests").state.jurisdictions.count == 2)
    }

    @Test("diagnostics name the commit and the path, as `git show` takes them")
    func diagnosticsNameTheCommit() throws {
        let g = try GitFixture()
        try g.write("manifests/bad.yaml", "apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: EU}\n")
        let sha = try g.commit("bad")
        let result = try GitSource(repository: g.root.path).load(commit: sha, path: "manifests")
        #expect(result.diagnostics.map(\.description) == [
            "\(sha.prefix(12)):manifests/bad.yaml:3:18: error: [name.invalid] metadata.name 'EU' is not a DNS label (lowercase a-z, 0-9 and '-', 1 to 63 characters, starting and ending with a letter or digit)",
        ])
    }

    @Test("the parse cache: across two commits that differ in one file, only that file is parsed again")
    func parseCache() throws {
        let g = try GitFixture()
        try g.writeFleet(count: 20)
        let a = try g.commit("a")
        try g.write("manifests/j7.yaml", "# changed\n" + GitFixture.jurisdiction("j7"))
        let b = try g.commit("b")
        let source = GitSource(repository: g.root.path)
        _ = try source.load(commit: a, path: "manifests")
        #expect(source.parseCache.parses == 20)
        let loaded = try source.load(commit: b, path: "manifests")
        #expect(loaded.isValid)
        #expect(source.parseCache.parses == 21)
        _ = try source.load(commit: a, path: "manifests")
        _ = try source.load(commit: b, path: "manifests")
        #expect(source.parseCache.parses == 21)
        // Two revisions' worth of entries at most.
        #expect(source.parseCache.count == 21)
        // A third revision: each j7 is evicted once two loads in a row have not used it.
        try g.write("manifests/j7.yaml", "# changed again\n" + GitFixture.jurisdiction("j7"))
        let c = try g.commit("c")
        var counts: [Int] = []
        for _ in 0 ..< 3 {
            #expect(try source.load(commit: c, path: "manifests").isValid)
            counts.append(source.parseCache.count)
        }
        #expect(counts == [22, 21, 20] && source.parseCache.parses == 22, "\(counts)")
        // Back to a: its j7 is parsed again, and kept with c's.
        #expect(try source.load(commit: a, path: "manifests").isValid)
        #expect(source.parseCache.count == 21 && source.parseCache.parses == 23)

        // A cache that does not retain (a one-shot command) keeps nothing and parses every time.
        let once = GitSource(repository: g.root.path, parseCache: ParseCache(retains: false))
        #expect(try once.load(commit: b, path: "manifests").state.jurisdictions.count == 20)
        #expect(try once.load(commit: b, path: "manifests").isValid)
        #expect(once.parseCache.count == 0)
        #expect(once.parseCache.parses == 40)
    }

    @Test("a source takes over the last commit's fence analysis and the tables of kinds no file changed for, and loads what a fresh source loads")
    func lastLoadLends() throws {
        let g = try GitFixture()
        func base(deny: String) -> String {
            """
            apiVersion: meridian/v1
            kind: Jurisdiction
            metadata: {name: eu}
            ---
            apiVersion: meridian/v1
            kind: Jurisdiction
            metadata: {name: us}
            ---
            apiVersion: meridian/v1
            kind: Region
            metadata: {name: eu-1}
            spec: {jurisdiction: eu, capacity: {accelerators: [{type: gpu, count: 4}]}}
            ---
            apiVersion: meridian/v1
            kind: ResidencyFence
            metadata: {name: f}
            spec: {allow: ["*"], deny: [\(deny)]}
            ---
            apiVersion: meridian/v1
            kind: Artifact
            metadata: {name: w}
            spec: {type: weights, digest: "sha256:\(String(repeating: "ab", count: 32))", origin: eu-1, fences: [f]}
            ---
            apiVersion: meridian/v1
            kind: Model
            metadata: {name: m}
            spec: {version: "1.0.0", artifacts: [w]}
            ---
            apiVersion: meridian/v1
            kind: Topology
            metadata: {name: t}
            spec: {mode: single-region, regions: [{name: eu-1}]}

            """
        }
        func placement(_ replicas: Int) -> String {
            "apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: p}\nspec: {model: m, topology: t, replicas: \(replicas)}\n"
        }
        let baseKinds: KindSet = [KindSet(.jurisdiction), KindSet(.region), KindSet(.residencyFence), KindSet(.artifact), KindSet(.model), KindSet(.topology)]
        try g.write("manifests/base.yaml", base(deny: ""))
        try g.write("manifests/placement.yaml", placement(1))
        let c1 = try g.commit("one replica")
        try g.write("manifests/placement.yaml", placement(2))
        let c2 = try g.commit("two replicas")
        try g.write("manifests/base.yaml", base(deny: "us"))
        let c3 = try g.commit("not in us")
        try g.git("mv", "manifests/placement.yaml", "manifests/zz-placement.yaml")
        let c4 = try g.commit("renamed")
        let source = GitSource(repository: g.root.path)
        let fresh = GitSource(repository: g.root.path, parseCache: ParseCache(retains: false))
        var loads: [LoadResult] = []
        for c in [c1, c2, c3, c4] {
            let loaded = try source.load(commit: c, path: "manifests")
            let alone = try fresh.load(commit: c, path: "manifests")
            #expect(loaded.isValid && loaded.diagnostics == alone.diagnostics, "\(loaded.diagnostics)")
            let (a, b) = (loaded.state, alone.state)
            #expect(a.jurisdictionList == b.jurisdictionList && a.regionList == b.regionList && a.artifactList == b.artifactList
                    && a.fenceList == b.fenceList && a.modelList == b.modelList && a.topologyList == b.topologyList
                    && a.placementList == b.placementList)
            let w = ArtifactName("w")
            #expect(loaded.fences.effectiveFence(of: w) == alone.fences.effectiveFence(of: w))
            #expect(!alone.fencesReused && alone.tablesReused.isEmpty && alone.structuralChecks.reused.isEmpty)
            loads.append(loaded)
        }
        // The first load has nothing to take over; a placement edit keeps everything else; a
        // fence edit keeps every table but the fences' (the other objects of its file are equal
        // to their last parse, lines and columns included); a renamed file is a file removed
        // and one added.
        #expect(!loads[0].fencesReused && loads[0].tablesReused.isEmpty)
        #expect(loads[1].fencesReused && loads[1].tablesReused == baseKinds)
        #expect(!loads[2].fencesReused && loads[2].tablesReused == baseKinds.subtracting(KindSet(.residencyFence)).union(KindSet(.placement)))
        #expect(loads[3].fencesReused && loads[3].tablesReused == baseKinds)
        // A table whose names did not change is patched: the placements' after the replicas
        // edit, the fences' after the deny edit. Not after the rename: a file removed and added.
        #expect(loads[0].tablesPatched.isEmpty && loads[1].tablesPatched == KindSet(.placement))
        #expect(loads[2].tablesPatched == KindSet(.residencyFence) && loads[3].tablesPatched.isEmpty)
        // The structural checks: every group but the placements' is taken over after the
        // placement edit and the rename (which moves the placement to another file); after the
        // fence edit, neither the fences' nor the artifacts' (which read the fences).
        let allButPlacements = StructuralChecks.Group.allCases.filter { $0 != .placements }
        #expect(loads[0].structuralChecks.reused.isEmpty)
        #expect(loads[1].structuralChecks.reused == allButPlacements)
        #expect(!loads[2].structuralChecks.reused.contains(.fences) && !loads[2].structuralChecks.reused.contains(.artifacts))
        #expect(loads[3].structuralChecks.reused == allButPlacements)
        // The fence checks: all but the placements' part after the placement edit and the rename.
        #expect(loads[1].fenceChecks.reused == [.artifacts, .models] && loads[3].fenceChecks.reused == [.artifacts, .models])
        #expect(loads[0].fenceChecks.reused.isEmpty && loads[2].fenceChecks.reused.isEmpty)
        #expect(loads[1].state.placements[PlacementName("p")]?.replicas == 2)
        #expect(loads[2].fences.effectiveFence(of: ArtifactName("w")).map { loads[2].fences.names($0) } == [JurisdictionName("eu")])
        #expect(loads[3].state.placements[PlacementName("p")]?.meta.location.file == "manifests/zz-placement.yaml")
    }

    @Test("a changed file changes only the kinds whose objects differ from its last parse: appended, edited or shifted objects, each load as a fresh source's")
    func changedFileKinds() throws {
        let g = try GitFixture()
        func artifact(_ name: String, _ digest: String = "ab") -> String {
            "apiVersion: meridian/v1\nkind: Artifact\nmetadata: {name: \(name)}\nspec: {type: weights, digest: \"sha256:\(String(repeating: digest, count: 32))\", origin: eu-1}\n"
        }
        let head = GitFixture.jurisdiction("eu") + "---\napiVersion: meridian/v1\nkind: Region\nmetadata: {name: eu-1}\nspec: {jurisdiction: eu}\n"
        let artifacts = artifact("a") + "---\n" + artifact("b")
        // Each edit, the kinds it changes, and of those the kinds whose names it keeps (whose
        // tables are patched).
        let edits: [(String, String, KindSet, KindSet)] = [
            // A jurisdiction appended after the artifacts: they keep their lines.
            ("appended", artifacts + "---\n" + GitFixture.jurisdiction("us"), [KindSet(.jurisdiction)], []),
            // One artifact's digest changed: same lines, another object.
            ("edited", artifact("a") + "---\n" + artifact("b", "cd") + "---\n" + GitFixture.jurisdiction("us"), [KindSet(.artifact)],
             [KindSet(.artifact)]),
            // A jurisdiction before them: every artifact moves down, so each is another object.
            ("shifted", GitFixture.jurisdiction("ap") + "---\n" + artifact("a") + "---\n" + artifact("b", "cd") + "---\n" + GitFixture.jurisdiction("us"),
             [KindSet(.jurisdiction), KindSet(.artifact)], [KindSet(.artifact)]),
            // One artifact renamed (b to c) and written first: the names change.
            ("renamed", GitFixture.jurisdiction("ap") + "---\n" + artifact("c") + "---\n" + artifact("a", "cd") + "---\n" + GitFixture.jurisdiction("us"),
             [KindSet(.artifact)], []),
            // Two artifacts' names swapped: the same names, not in the same order.
            ("swapped", GitFixture.jurisdiction("ap") + "---\n" + artifact("a", "cd") + "---\n" + artifact("c") + "---\n" + GitFixture.jurisdiction("us"),
             [KindSet(.artifact)], []),
        ]
        try g.write("manifests/base.yaml", head)
        try g.write("manifests/artifacts.yaml", artifacts)
        var commits = [try g.commit("first")]
        for (what, text, _, _) in edits {
            try g.write("manifests/artifacts.yaml", text)
            commits.append(try g.commit(what))
        }
        let source = GitSource(repository: g.root.path)
        let fresh = GitSource(repository: g.root.path, parseCache: ParseCache(retains: false))
        _ = try source.load(commit: commits[0], path: "manifests")
        for (k, (what, _, changed, patched)) in edits.enumerated() {
            let loaded = try source.load(commit: commits[k + 1], path: "manifests")
            let alone = try fresh.load(commit: commits[k + 1], path: "manifests")
            #expect(loaded.isValid && loaded.diagnostics == alone.diagnostics, "\(what): \(loaded.diagnostics)")
            #expect(loaded.state.jurisdictionList == alone.state.jurisdictionList && loaded.state.regionList == alone.state.regionList
                    && loaded.state.artifactList == alone.state.artifactList, "\(what)")
            // Every table not changed is lent (the empty ones are never lent).
            let present = [KindSet(.jurisdiction), KindSet(.region), KindSet(.artifact)]
            #expect(loaded.tablesReused == KindSet(present).subtracting(changed), "\(what): \(loaded.tablesReused.rawValue)")
            #expect(loaded.tablesPatched == patched, "\(what): \(loaded.tablesPatched.rawValue)")
            // A patched table answers by name as a fresh one does.
            for name in alone.state.artifacts.keys { #expect(loaded.state.artifacts[name] == alone.state.artifacts[name], "\(what): \(name)") }
            #expect(loaded.state.artifacts.keys == alone.state.artifacts.keys, "\(what)")
            if what == "renamed" { #expect(loaded.state.artifacts[ArtifactName("b")] == nil && loaded.state.artifacts[ArtifactName("c")] != nil) }
        }
    }

    @Test("commits of random edits (objects edited, renamed, moved, duplicated; files added and removed), loaded in random order by one source: each load as a fresh source's")
    func randomCommitsInAnyOrder() throws {
        let g = try GitFixture()
        var rng = SeededRandom(seed: 0x5EED)
        // Each file's objects: kind (0 jurisdiction, 1 region, 2 placement), name, replicas.
        var files: [String: [(kind: Int, name: String, replicas: Int)]] = [:]
        func text(_ objects: [(kind: Int, name: String, replicas: Int)]) -> String {
            objects.map { o in
                switch o.kind {
                case 0: GitFixture.jurisdiction(o.name)
                case 1: "apiVersion: meridian/v1\nkind: Region\nmetadata: {name: \(o.name)}\nspec: {jurisdiction: j0}\n"
                default: "apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: \(o.name)}\nspec: {model: m, topology: t, replicas: \(o.replicas)}\n"
                }
            }.joined(separator: "---\n")
        }
        var serial = 0
        func object() -> (kind: Int, name: String, replicas: Int) {
            serial += 1
            let kind = rng.next(3)
            return (kind, ["j", "r", "p"][kind] + String(serial), 1 + rng.next(3))
        }
        files["manifests/base.yaml"] = [(0, "j0", 1)]
        for f in 0 ..< 6 { files["manifests/f\(f).yaml"] = (0 ..< 1 + rng.next(4)).map { _ in object() } }
        var commits: [String] = []
        for c in 0 ..< 14 {
            let paths = files.keys.filter { $0 != "manifests/base.yaml" }.sorted()
            let path = paths[rng.next(paths.count)]
            var objects = files[path]!
            switch c == 0 ? -1 : rng.next(7) {
            case 0 where !objects.isEmpty: objects[rng.next(objects.count)].replicas += 1  // a spec edited
            case 1 where !objects.isEmpty:  // renamed
                let k = rng.next(objects.count)
                serial += 1
                objects[k].name = ["j", "r", "p"][objects[k].kind] + String(serial)
            case 2 where objects.count > 1:  // moved to another file
                let moved = objects.removeLast()
                let to = paths[rng.next(paths.count)]
                if to != path { files[to]!.insert(moved, at: 0) } else { objects.insert(moved, at: 0) }
            case 3:  // a file removed, another added
                objects = []
                files["manifests/n\(c).yaml"] = [object(), object()]
            case 4 where !objects.isEmpty:  // a name declared again, in another file
                files["manifests/d\(c).yaml"] = [objects[0]]
            case 5 where objects.count > 1: objects.swapAt(0, objects.count - 1)  // reordered
            default: objects.append(object())
            }
            files[path] = objects.isEmpty ? nil : objects
            for (p, o) in files { try g.write(p, text(o)) }
            for p in try g.git("ls-files", "manifests").split(separator: "\n").map(String.init) where files[p] == nil {
                try g.git("rm", "-q", p)
            }
            commits.append(try g.commit("edit \(c)"))
        }
        let source = GitSource(repository: g.root.path)
        let fresh = GitSource(repository: g.root.path, parseCache: ParseCache(retains: false))
        var patched = 0, lent = 0
        for round in 0 ..< 40 {
            let commit = commits[rng.next(commits.count)]
            let loaded = try source.load(commit: commit, path: "manifests")
            let alone = try fresh.load(commit: commit, path: "manifests")
            #expect(loaded.diagnostics.map { Array($0.description.utf8) } == alone.diagnostics.map { Array($0.description.utf8) }, "round \(round)")
            let (a, b) = (loaded.state, alone.state)
            #expect(a.jurisdictionList == b.jurisdictionList && a.regionList == b.regionList && a.placementList == b.placementList, "round \(round)")
            #expect(a.jurisdictions.keys == b.jurisdictions.keys && a.regions.keys == b.regions.keys && a.placements.keys == b.placements.keys)
            for name in b.placements.keys { #expect(a.placements[name] == b.placements[name], "round \(round)") }
            #expect(source.parseCache.count <= 3 * 20)
            if !loaded.tablesPatched.isEmpty { patched += 1 }
            if !loaded.tablesReused.isEmpty { lent += 1 }
        }
        // No tautology: tables were patched and lent.
        #expect(patched >= 3 && lent >= 10, "patched \(patched), lent \(lent)")
    }

    @Test("two spellings of one accented file name are two files to git, and to the parse cache and the next load: each load as a fresh source's, byte for byte")
    func unicodeSpellings() throws {
        let g = try GitFixture()
        // "é" precomposed, and "e" with a combining accent: one `String` to `==`, two paths.
        let composed = "manifests/caf\u{e9}.yaml", decomposed = "manifests/cafe\u{301}.yaml"
        try #require(composed == decomposed && Array(composed.utf8) != Array(decomposed.utf8))
        // The same blob at both paths.
        try g.write(composed, GitFixture.jurisdiction("eu"))
        try g.write(decomposed, GitFixture.jurisdiction("eu"))
        let a = try g.commit("a")
        try g.write("manifests/other.yaml", GitFixture.jurisdiction("us"))
        let b = try g.commit("b")
        try g.write(decomposed, GitFixture.jurisdiction("ap"))
        let c = try g.commit("c")
        let source = GitSource(repository: g.root.path)
        let fresh = GitSource(repository: g.root.path, parseCache: ParseCache(retains: false))
        for (commit, files) in [(a, 2), (b, 3), (c, 3)] {
            let loaded = try source.load(commit: commit, path: "manifests")
            let alone = try fresh.load(commit: commit, path: "manifests")
            #expect(alone.fileCount == files && loaded.fileCount == files)
            // Compared as bytes: a diagnostic's `==` compares its file as a `String`.
            #expect(loaded.diagnostics.map { Array($0.description.utf8) } == alone.diagnostics.map { Array($0.description.utf8) },
                    "\(loaded.diagnostics)")
            #expect(loaded.state.jurisdictionList.map { Array($0.meta.location.file.utf8) } == alone.state.jurisdictionList.map { Array($0.meta.location.file.utf8) })
            #expect(loaded.state.jurisdictions.keys == alone.state.jurisdictions.keys)
        }
        // The name declared at both paths is reported at both.
        let first = try fresh.load(commit: a, path: "manifests")
        #expect(Set(first.diagnostics.filter { $0.rule == .nameDuplicate }.compactMap { $0.location.map { Array($0.file.utf8) } }).count == 2)
    }

    @Test("a load reads only the blobs its parse cache does not hold: with the unchanged blobs gone from the object database, the next commit still loads")
    func cachedBlobsAreNotRead() throws {
        let g = try GitFixture()
        try g.writeFleet(count: 12)
        let a = try g.commit("a")
        try g.write("manifests/j5.yaml", GitFixture.jurisdiction("j5") + "---\n" + GitFixture.jurisdiction("added"))
        let b = try g.commit("b")
        let source = GitSource(repository: g.root.path)
        #expect(try source.load(commit: a, path: "manifests").isValid)
        // Delete every blob of commit a from the object database (the trees and commits stay).
        for i in 0 ..< 12 {
            let blob = try g.git("rev-parse", "\(a):manifests/j\(i).yaml")
            try FileManager.default.removeItem(at: g.root.appendingPathComponent(".git/objects/\(blob.prefix(2))/\(blob.dropFirst(2))"))
        }
        let loaded = try source.load(commit: b, path: "manifests")
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        #expect(loaded.state.jurisdictions.count == 13)
        #expect(source.parseCache.parses == 13)
        // A new source has no cache: it must read the blobs, and they are gone.
        let error = gitRefusal { _ = try GitSource(repository: g.root.path).load(commit: b, path: "manifests") }
        #expect(error?.kind == .environment)
        #expect(error?.message.contains("blob cannot be read") == true, "\(error?.message ?? "")")
    }

    @Test("the size limits hold for cached files too, and name the first file over them in path order")
    func limitsWithCache() throws {
        let g = try GitFixture()
        try g.writeFleet(count: 30)
        try g.write("manifests/j17.yaml", GitFixture.jurisdiction("j17") + "# " + String(repeating: "x", count: 3000) + "\n")
        try g.write("manifests/j23.yaml", GitFixture.jurisdiction("j23") + "# " + String(repeating: "x", count: 5000) + "\n")
        let sha = try g.commit("two big files")
        let source = GitSource(repository: g.root.path)
        #expect(try source.load(commit: sha, path: "manifests").isValid)
        // Now every file is cached; the limit still refuses, by the cached sizes.
        source.maxBlobBytes = 2048
        let error = gitRefusal { _ = try source.load(commit: sha, path: "manifests") }
        #expect(error?.kind == .invalidTree)
        #expect(error?.message.hasPrefix("manifests/j17.yaml: blob is ") == true, "\(error?.message ?? "")")
        // And uncached, read on the workers: the same file is named.
        let fresh = GitSource(repository: g.root.path)
        fresh.maxBlobBytes = 2048
        #expect(gitRefusal { _ = try fresh.load(commit: sha, path: "manifests") }?.message == error?.message)
    }

    @Test("a symlink in the manifest tree is refused by name, never followed")
    func symlink() throws {
        let g = try GitFixture()
        try g.writeFleet(count: 1)
        try FileManager.default.createSymbolicLink(atPath: g.root.appendingPathComponent("manifests/link.yaml").path,
                                                   withDestinationPath: "/etc/passwd")
        let sha = try g.commit("link")
        let error = gitRefusal { _ = try GitSource(repository: g.root.path).load(commit: sha, path: "manifests") }
        #expect(error?.kind == .invalidTree)
        #expect(error?.message == "manifests/link.yaml: symbolic links are refused in a manifest tree (never followed)")
    }

    @Test("a submodule (gitlink) in the manifest tree is refused")
    func submodule() throws {
        let g = try GitFixture()
        try g.writeFleet(count: 1)
        let inner = try g.commit("inner")
        try g.git("update-index", "--add", "--cacheinfo", "160000,\(inner),manifests/vendor")
        try g.run("git", ["commit", "-q", "-m", "gitlink"])
        let sha = try g.git("rev-parse", "HEAD")
        let error = gitRefusal { _ = try GitSource(repository: g.root.path).load(commit: sha, path: "manifests") }
        #expect(error?.kind == .invalidTree)
        #expect(error?.message.hasPrefix("manifests/vendor: submodules") == true)
    }

    @Test("a blob over the size limit is refused without being read")
    func bigBlob() throws {
        let g = try GitFixture()
        try g.write("manifests/big.yaml", "# " + String(repeating: "x", count: 5000) + "\n")
        let sha = try g.commit("big")
        let source = GitSource(repository: g.root.path)
        source.maxBlobBytes = 4096
        let error = gitRefusal { _ = try source.load(commit: sha, path: "manifests") }
        #expect(error?.kind == .invalidTree)
        #expect(error?.message.contains("manifests/big.yaml: blob is 5003 bytes") == true)
    }

    @Test("a tree entry named '..' and a path that is not UTF-8 are refused")
    func hostileNames() throws {
        let g = try GitFixture()
        try g.writeFleet(count: 1)
        try g.commit("base")
        let blob = try g.git("hash-object", "-w", "manifests/j0.yaml")
        let source = GitSource(repository: g.root.path)
        let dotdot = try g.commitWithRawEntry(Array("..".utf8), blob: blob)
        let e1 = gitRefusal { _ = try source.load(commit: dotdot, path: "manifests") }
        #expect(e1?.kind == .invalidTree)
        #expect(e1?.message.contains("'..' is refused") == true)
        let latin1 = try g.commitWithRawEntry([0x6D, 0xFF, 0x2E, 0x79, 0x61, 0x6D, 0x6C], blob: blob)  // "m\xFF.yaml"
        let e2 = gitRefusal { _ = try source.load(commit: latin1, path: "manifests") }
        #expect(e2?.kind == .invalidTree)
        #expect(e2?.message.contains("path is not valid UTF-8") == true)
    }

    @Test("a missing ref, a missing path, a missing repository and a corrupt one give one-line errors")
    func environmentErrors() throws {
        let g = try GitFixture()
        try g.writeFleet(count: 1)
        let sha = try g.commit("one")
        let source = GitSource(repository: g.root.path)
        func message(_ body: () throws -> Void) -> String { gitRefusal(body)?.message ?? "" }
        #expect(message { _ = try source.resolve("no-such-branch") } == "ref 'no-such-branch' not found in \(g.root.path)")
        #expect(message { _ = try source.load(commit: sha, path: "elsewhere") } == "path 'elsewhere' does not exist at commit \(sha.prefix(12))")
        #expect(message { _ = try GitSource(repository: "/nonexistent/repo").resolve("main") }.hasPrefix("/nonexistent/repo: not a git repository"))
        // Corrupt: remove every loose object.
        try FileManager.default.removeItem(at: g.root.appendingPathComponent(".git/objects"))
        try FileManager.default.createDirectory(at: g.root.appendingPathComponent(".git/objects"), withIntermediateDirectories: true)
        let corrupt = message { _ = try GitSource(repository: g.root.path).load(commit: sha, path: "manifests") }
        #expect(!corrupt.isEmpty && !corrupt.contains("\n"), "\(corrupt)")
    }
}

@Suite("Remote git sources")
struct RemoteGitSourceTests {
    @Test("file:// is fetched into a bare cache; a second fetch brings only the new commit")
    func fileURL() throws {
        let g = try GitFixture()
        try g.writeFleet(count: 3)
        let first = try g.commit("first")
        let cache = g.home.appendingPathComponent("cache").path
        let url = "file://" + g.root.path
        let source = GitSource(repository: url, cacheDirectory: cache)
        #expect(try source.resolve("main") == first)
        #expect(try source.load(commit: first, path: "manifests").state.jurisdictions.count == 3)
        #expect(FileManager.default.fileExists(atPath: source.localPath + "/objects"))
        #expect(!FileManager.default.fileExists(atPath: source.localPath + "/manifests"), "the cache is bare: no checkout")

        try g.write("manifests/j3.yaml", GitFixture.jurisdiction("j3"))
        let second = try g.commit("second")
        let again = GitSource(repository: url, cacheDirectory: cache)
        #expect(try again.resolve("main") == second)
        #expect(try again.resolve("HEAD") == second)
        #expect(try again.load(commit: second, path: "manifests").state.jurisdictions.count == 4)
    }

    @Test("git:// from a real git daemon on 127.0.0.1")
    func gitDaemon() throws {
        let g = try GitFixture()
        try g.writeFleet(count: 1)
        try g.commit("first")
        try g.git("tag", "release-1")
        try g.writeFleet(count: 2)
        let sha = try g.commit("second")
        let daemon = try GitDaemon(base: g.root.deletingLastPathComponent())
        let source = GitSource(repository: "git://127.0.0.1:\(daemon.port)/repo", cacheDirectory: g.home.appendingPathComponent("c").path)
        #expect(try source.resolve("main") == sha)
        #expect(try source.resolve("release-1") != sha)
        let result = try source.load(commit: sha, path: "manifests")
        #expect(result.isValid && result.state.jurisdictions.count == 2)
    }

    @Test("an unreachable remote fails at once, with one line")
    func unreachable() throws {
        let g = try GitFixture()
        let source = GitSource(repository: "git://127.0.0.1:1/nothing", cacheDirectory: g.home.path + "/c", fetchTimeout: 10)
        let error = gitRefusal { _ = try source.resolve("main") }
        #expect(error?.kind == .environment)
        #expect(error?.message.hasPrefix("fetch of git://127.0.0.1:1/nothing failed") == true)
    }

    @Test("a remote that accepts the connection and never answers times out instead of hanging")
    func hangingRemote() throws {
        let g = try GitFixture()
        let server = try SilentServer()
        let source = GitSource(repository: "git://127.0.0.1:\(server.port)/x", cacheDirectory: g.home.path + "/c", fetchTimeout: 1.5)
        let clock = ContinuousClock()
        let start = clock.now
        let error = gitRefusal { _ = try source.resolve("main") }
        #expect(error?.message == "fetch of git://127.0.0.1:\(server.port)/x timed out after 1.5 s")
        #expect(clock.now - start < .seconds(10))
    }
}

/// A small seeded generator (SplitMix64), so that a failing case can be run again.
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
