# Kelly sizing and the normal CDF behind confidence (REFERENCE_VALUES.md).

@testset "reference values: Kelly (REFERENCE_VALUES.md)" begin
    @test KS.kelly_discrete(0.6, 1.0) ≈ 0.20 atol=1e-12
    @test KS.kelly_growth(0.6, 1.0, 0.2) ≈ 0.0201355 atol=5e-8
    @test KS.kelly_discrete(0.7, 1.0) ≈ 0.40 atol=1e-12
    @test KS.kelly_discrete(0.095156, 10.0) ≈ 0.0046716 atol=5e-8
    f, g = KS.kelly_continuous(0.11, 0.06, 0.15)
    @test f ≈ 2.2222 atol=5e-5
    @test g ≈ 0.115556 atol=5e-7
end

@testset "normal CDF / erfc" begin
    @test KS.normal_cdf(0.0) == 0.5
    @test KS.normal_cdf(1.644854) ≈ 0.95 atol=1e-6
    @test KS.normal_cdf(2.326348) ≈ 0.99 atol=1e-6
    @test KS.normal_cdf(-1.959964) ≈ 0.025 atol=1e-6
    @test KS.erfc_libm(0.5) ≈ 0.4795001221869535 rtol=1e-15
end
