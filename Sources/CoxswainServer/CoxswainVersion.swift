/// The version of Coxswain: `coxswain --version`, the start-up log line and the container
/// image's tag (the chart's `appVersion`, which `ContainerImageTests` keeps equal to it).
public enum CoxswainVersion {
    public static let current = "0.1.0"
}
