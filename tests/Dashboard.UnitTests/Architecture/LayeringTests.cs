namespace Dashboard.UnitTests.Architecture;

/// <summary>
/// The layering of the code under <c>src/</c>, read from the source itself: a change that makes two namespaces need each
/// other, or a lower project reach up, fails here with the files and names that do it.
/// </summary>
public sealed class LayeringTests
{
    private static readonly string Root = SourceTree.FindRepositoryRoot();
    private static readonly Lazy<SourceTree> Tree = new(() => SourceTree.Load(Root));

    [Fact]
    public void Namespaces_UnderSrc_FormNoCycle()
    {
        AssertReadsTheRealTree();

        var cycles = LayerRules.NamespaceCycles(Tree.Value).ToList();

        Assert.True(cycles.Count == 0, $"Namespaces that depend on each other:{Environment.NewLine}{string.Join(Environment.NewLine, cycles)}");
    }

    [Fact]
    public void Projects_ReachingALayerAbove_None()
    {
        AssertReadsTheRealTree();

        var violations = LayerRules.UpwardReferencesInCode(Tree.Value)
            .Concat(LayerRules.UpwardReferencesInProjects(Root))
            .Distinct()
            .ToList();

        Assert.True(violations.Count == 0, $"References to a layer above:{Environment.NewLine}{string.Join(Environment.NewLine, violations)}");
    }

    [Fact]
    public void ComponentImports_BeyondConfigVocabulary_None()
    {
        AssertReadsTheRealTree();

        var violations = LayerRules.ComponentImports(Tree.Value).ToList();

        Assert.True(violations.Count == 0, $"Components importing entities or engine internals:{Environment.NewLine}{string.Join(Environment.NewLine, violations)}");
    }

    [Fact]
    public void SourceFiles_UnderSrc_AtMost400Lines()
    {
        AssertReadsTheRealTree();

        var offenders = LayerRules.LongFiles(Root).ToList();

        Assert.True(offenders.Count == 0, $"Files over {LayerRules.MaxLines} lines (split them by job):{Environment.NewLine}{string.Join(Environment.NewLine, offenders)}");
    }

    /// <summary>A rule over no files holds trivially; this makes sure the tree read is the real one.</summary>
    private static void AssertReadsTheRealTree()
    {
        Assert.Contains("Dashboard.Runs.Execution", Tree.Value.Namespaces);
        Assert.Contains("Dashboard.Engine.Training.Optimizers", Tree.Value.Namespaces);
        Assert.Contains(Tree.Value.Files, f => f.RelativePath == "src/Dashboard.Web/Components/_Imports.razor");
        Assert.True(Tree.Value.Files.Count > 100, $"Only {Tree.Value.Files.Count} source files found under {Root}/src.");
        Assert.NotEmpty(Tree.Value.Dependencies());
    }
}
