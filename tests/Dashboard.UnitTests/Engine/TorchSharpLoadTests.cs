using static TorchSharp.torch;

namespace Dashboard.UnitTests.Engine;

/// <summary>
/// Guards the build step that marks libLibTorchSharp.so's GLIBCXX_3.4.32 need weak: without it the native library does
/// not load on Debian 12 and the first tensor operation throws.
/// </summary>
public sealed class TorchSharpLoadTests
{
    [Fact]
    public void TensorAdd_OnCpu_ComputesSum()
    {
        using var a = ones(2, 3);
        using var b = full(2, 3, 2.0f);
        using var sum = a + b;

        Assert.Equal(18f, sum.sum().item<float>());
    }

    [Fact]
    public void MatMul_WithGradient_BackpropagatesThroughNativeLibrary()
    {
        using var x = tensor(new float[] { 1, 2, 3, 4 }, [2, 2], requires_grad: true);
        using var y = x.matmul(x).sum();
        y.backward();

        // For L = Σ(X·X), dL/dX[a,b] = (row sum b of X) + (column sum a of X); rows sum to 3, 7 and columns to 4, 6.
        float[] expected = [3 + 4, 7 + 4, 3 + 6, 7 + 6];
        Assert.Equal(expected, x.grad!.data<float>().ToArray());
    }
}
